//! Taint propagation (poison, haircut, FIFO, LIFO, TIHO), laundering patterns, clustering and screening over a transfer graph; no I/O
