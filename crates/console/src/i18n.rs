//! The console's words in English, Japanese and Korean. Every string a page
//! shows comes from [`Msg`]; the macro makes a missing translation a compile
//! error, and a unit test checks no translation is left in English.

/// A console language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ja, Lang::Ko];

    /// The BCP 47 tag (`?lang=`, the cookie, `<html lang>`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
            Lang::Ko => "ko",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
            Lang::Ko => "한국어",
        }
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }
}

macro_rules! messages {
    ($($name:ident => $en:literal, $ja:literal, $ko:literal;)*) => {
        /// One user-interface string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg { $($name),* }
        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$name),*];
            pub fn text(self, lang: Lang) -> &'static str {
                match self {
                    $(Msg::$name => match lang {
                        Lang::En => $en,
                        Lang::Ja => $ja,
                        Lang::Ko => $ko,
                    }),*
                }
            }
        }
    };
}

messages! {
    Console => "Console", "コンソール", "콘솔";
    Cases => "Cases", "事案", "사건";
    Alerts => "Alerts", "アラート", "경보";
    Intel => "Intel", "インテリジェンス", "인텔리전스";
    EarlyWarning => "Early warning", "早期警戒", "조기 경보";
    Audit => "Audit", "監査", "감사";
    MainNav => "Main", "メイン", "메인";
    LanguageNav => "Language", "言語", "언어";
    SignIn => "Sign in", "サインイン", "로그인";
    SignOut => "Sign out", "サインアウト", "로그아웃";
    SignedInAs => "Signed in as", "サインイン中:", "로그인 사용자:";
    Username => "User name", "ユーザー名", "사용자 이름";
    Password => "Password", "パスワード", "비밀번호";
    SignInHelp => "Use your partner's TAXII credentials.", "パートナーの TAXII 認証情報を使用してください。", "파트너의 TAXII 자격 증명을 사용하십시오.";
    BadCredentials => "Wrong user name or password.", "ユーザー名またはパスワードが違います。", "사용자 이름 또는 비밀번호가 올바르지 않습니다.";
    TooManyAttempts => "Too many failed sign-ins. Try again in a minute.", "サインインの失敗が多すぎます。1 分後に再試行してください。", "로그인 실패가 너무 많습니다. 1분 후에 다시 시도하십시오.";
    FormExpired => "The form expired. Please try again.", "フォームの有効期限が切れました。もう一度お試しください。", "양식이 만료되었습니다. 다시 시도하십시오.";
    HomeIntro => "One console for the three engines: cases, alerts, shared intelligence, the minerals early warning, and the audit trail.", "3 つのエンジンのための単一コンソール: 事案、アラート、共有インテリジェンス、鉱物の早期警戒、監査証跡。", "세 엔진을 위한 하나의 콘솔: 사건, 경보, 공유 인텔리전스, 광물 조기 경보, 감사 기록.";
    CasesIntro => "Investigations of stolen funds: where the money went and who can still freeze it.", "盗まれた資金の調査: 資金の行方と、まだ凍結できる者。", "도난 자금 조사: 자금의 행방과 아직 동결할 수 있는 주체.";
    AlertsIntro => "Alerts raised by the chain watch.", "チェーン監視が発したアラート。", "체인 감시가 발생시킨 경보.";
    IntelIntro => "Collections shared with your partner.", "あなたのパートナーと共有されたコレクション。", "귀하의 파트너와 공유된 컬렉션.";
    EwsIntro => "Supply risk of critical minerals per partner.", "パートナー別の重要鉱物の供給リスク。", "파트너별 핵심 광물 공급 위험.";
    AuditIntro => "Every request to this server, refusals included.", "このサーバーへのすべての要求(拒否を含む)。", "거부를 포함한 이 서버에 대한 모든 요청.";
    NoCaseService => "No case service runs on this server yet, so there are no cases to show.", "このサーバーではまだ事案サービスが動作していないため、表示する事案はありません。", "이 서버에서는 아직 사건 서비스가 실행되지 않아 표시할 사건이 없습니다.";
    NoAlertService => "No chain watch feeds this console yet, so there are no alerts to show.", "このコンソールにはまだチェーン監視が接続されていないため、表示するアラートはありません。", "이 콘솔에는 아직 체인 감시가 연결되지 않아 표시할 경보가 없습니다.";
    Collections => "Collections", "コレクション", "컬렉션";
    NoCollections => "Your partner may read no collection on this server.", "あなたのパートナーが読めるコレクションはこのサーバーにありません。", "귀하의 파트너가 읽을 수 있는 컬렉션이 이 서버에 없습니다.";
    Title => "Title", "タイトル", "제목";
    Description => "Description", "説明", "설명";
    Access => "Access", "アクセス", "접근";
    Read => "read", "読取", "읽기";
    Write => "write", "書込", "쓰기";
    Objects => "Objects", "オブジェクト", "객체";
    Search => "Search", "検索", "검색";
    SearchObjects => "Search objects", "オブジェクトを検索", "객체 검색";
    Types => "Types", "タイプ", "유형";
    AllTypes => "All types", "すべてのタイプ", "모든 유형";
    Apply => "Apply", "適用", "적용";
    Name => "Name", "名前", "이름";
    Type => "Type", "タイプ", "유형";
    Tlp => "TLP", "TLP 区分", "TLP 등급";
    NoTlp => "none", "なし", "없음";
    Creator => "Creator", "作成者", "작성자";
    PostedBy => "Posted by", "投稿者", "게시자";
    PostedAt => "Posted", "投稿日時", "게시 시각";
    NoObjects => "No object you may see matches.", "閲覧可能なオブジェクトで一致するものはありません。", "볼 수 있는 객체 중 일치하는 것이 없습니다.";
    ShowingFirst => "Showing the first", "表示中(先頭から)", "표시 중(처음부터)";
    OfTotal => "of", "件 / 全", "개 / 전체";
    Fields => "Fields", "フィールド", "필드";
    Relationships => "Relationships", "関係", "관계";
    NoRelationships => "No relationship you may see.", "閲覧可能な関係はありません。", "볼 수 있는 관계가 없습니다.";
    RawJson => "Raw JSON", "生の JSON", "원본 JSON";
    Versions => "Versions", "バージョン", "버전";
    Provenance => "Provenance", "来歴", "출처 기록";
    Back => "Back to the collection", "コレクションに戻る", "컬렉션으로 돌아가기";
    Board => "Mineral × partner board", "鉱物 × パートナー ボード", "광물 × 파트너 보드";
    AsOf => "as of", "時点:", "기준일:";
    Mineral => "Mineral", "鉱物", "광물";
    Synthetic => "SYNTHETIC DATA — not real figures", "合成データ — 実際の数値ではありません", "합성 데이터 — 실제 수치가 아닙니다";
    Green => "green", "緑", "녹색";
    Yellow => "yellow", "黄", "노랑";
    Amber => "amber", "琥珀", "호박색";
    Red => "red", "赤", "빨강";
    OpenAlerts => "Open alerts", "未解決のアラート", "진행 중인 경보";
    NoOpenAlerts => "No open alert.", "未解決のアラートはありません。", "진행 중인 경보가 없습니다.";
    Chart => "Time series", "時系列", "시계열";
    ChartFor => "Series for", "系列:", "계열:";
    Show => "Show", "表示", "표시";
    ChartLoading => "Drawing the chart…", "グラフを描画中…", "차트를 그리는 중…";
    ChartNoData => "No series for this mineral in the data.", "データにこの鉱物の系列はありません。", "데이터에 이 광물의 계열이 없습니다.";
    PricesChart => "Prices", "価格", "가격";
    NoPrices => "No price series for this mineral in the data.", "データにこの鉱物の価格系列はありません。", "데이터에 이 광물의 가격 계열이 없습니다.";
    ExportsChart => "China's exports by partner", "中国の相手国別輸出", "중국의 상대국별 수출";
    NoExports => "No monthly Chinese exports of this mineral in the data.", "データにこの鉱物の中国の月次輸出はありません。", "데이터에 이 광물의 중국 월별 수출이 없습니다.";
    ConcentrationChart => "Production concentration (HHI)", "生産集中度（HHI）", "생산 집중도(HHI)";
    NoProduction => "No production figures for this mineral in the data.", "データにこの鉱物の生産量はありません。", "데이터에 이 광물의 생산량이 없습니다.";
    EventsWord => "event(s)", "件のイベント", "개 사건";
    SignalsWord => "signal(s)", "件のシグナル", "개 신호";
    World => "World", "世界", "세계";
    UnitedStates => "United States", "米国", "미국";
    Japan => "Japan", "日本", "일본";
    Korea => "Korea", "韓国", "한국";
    Events => "Events", "イベント", "이벤트";
    Backtest => "Back-test: events against alerts", "バックテスト: イベントとアラート", "백테스트: 이벤트 대 경보";
    BacktestIntro => "Each scored event on one line: the warning from the first alert open in the window before it (bar) to its announcement (dot: filled when warned) and its effective date (diamond).", "採点された各イベントを1行で表示: 発表前の期間に最初に開いたアラートからの警告(帯)、発表日(点: 警告済みは塗りつぶし)、発効日(菱形)。", "채점된 각 이벤트를 한 줄로 표시: 발표 전 기간에 처음 열린 경보부터의 경고(막대), 발표일(점: 경고됨은 채움), 발효일(마름모).";
    BacktestNoEvents => "No event to score in the data.", "データに採点するイベントはありません。", "데이터에 채점할 이벤트가 없습니다.";
    EwsUnavailable => "The early-warning data could not be loaded:", "早期警戒データを読み込めませんでした:", "조기 경보 데이터를 불러오지 못했습니다:";
    AdminOnly => "The audit is for the server's operators (admin credentials).", "監査はサーバー運用者(管理者認証情報)専用です。", "감사는 서버 운영자(관리자 자격 증명) 전용입니다.";
    When => "When", "日時", "시각";
    Partner => "Partner", "パートナー", "파트너";
    Action => "Action", "操作", "작업";
    Target => "Target", "対象", "대상";
    Result => "Result", "結果", "결과";
    SearchAudit => "Search the audit", "監査を検索", "감사 검색";
    WhoReceived => "Who received object", "オブジェクトの受領者", "객체를 받은 파트너";
    ObjectId => "Object id", "オブジェクト ID", "객체 ID";
    Served => "Served to", "提供先", "제공 대상";
    NoEntries => "No entries.", "エントリーはありません。", "항목이 없습니다.";
    Previous => "Newer", "新しい方へ", "더 최근";
    Next => "Older", "古い方へ", "더 이전";
    PageWord => "Page", "ページ", "페이지";
    NotFound => "Not found.", "見つかりません。", "찾을 수 없습니다.";
    Forbidden => "You may not see this page.", "このページを閲覧する権限がありません。", "이 페이지를 볼 권한이 없습니다.";
    ServerError => "The server failed to answer this page.", "サーバーがこのページに応答できませんでした。", "서버가 이 페이지에 응답하지 못했습니다.";
    BadRequest => "The request is not valid.", "要求が正しくありません。", "요청이 올바르지 않습니다.";
    NoCases => "No case you may see.", "閲覧可能な事案はありません。", "볼 수 있는 사건이 없습니다.";
    Owner => "Owner", "所有者", "소유자";
    StatusWord => "Status", "状態", "상태";
    Seeds => "Seeds", "起点アドレス", "시작 주소";
    Created => "Created", "作成日時", "생성 시각";
    CaseOpen => "open", "調査中", "진행 중";
    CaseClosed => "closed", "終了", "종료";
    SharedObjects => "Shared as a STIX report:", "STIX レポートとして共有しました:", "STIX 보고서로 공유했습니다:";
    Policy => "Taint policy", "汚染ポリシー", "오염 정책";
    MaxHops => "hop limit", "ホップ上限", "홉 한도";
    From => "Traced from", "追跡開始", "추적 시작";
    Endpoints => "Endpoints and freeze candidates", "終着点と凍結候補", "종착점과 동결 후보";
    NoSeedInStore => "No seed of this case is in the store yet.", "この事案の起点アドレスはまだストアにありません。", "이 사건의 시작 주소가 아직 저장소에 없습니다.";
    Address => "Address", "アドレス", "주소";
    Label => "Label", "ラベル", "라벨";
    Category => "Category", "カテゴリー", "범주";
    TaintedArrived => "Tainted funds arrived", "到着した汚染資金", "도착한 오염 자금";
    HeldNow => "Held now", "現在保有", "현재 보유";
    FreezeCandidate => "Freeze candidate", "凍結候補", "동결 후보";
    JurisdictionPartner => "Partner with jurisdiction", "管轄パートナー", "관할 파트너";
    Yes => "yes", "はい", "예";
    No => "no", "いいえ", "아니요";
    Graph => "Where the money went", "資金の流れ", "자금 흐름";
    GraphLabel => "Graph of the tainted transfers, left to right from the seeds", "汚染された送金のグラフ(起点から左から右へ)", "오염된 이체의 그래프(시작 주소에서 왼쪽에서 오른쪽으로)";
    FromTime => "From", "開始", "시작";
    ToTime => "To", "終了", "종료";
    Asset => "Asset", "資産", "자산";
    AllAssets => "All assets", "すべての資産", "모든 자산";
    MinAmount => "Minimum amount", "最小金額", "최소 금액";
    ExpandAll => "Expand all", "すべて展開", "모두 펼치기";
    Collapse => "Collapse selected", "選択を折りたたむ", "선택 항목 접기";
    MinDegree => "Degree at least", "次数の下限", "최소 차수";
    SelectByDegree => "Select by degree", "次数で選択", "차수로 선택";
    PostBundle => "Post a STIX bundle", "STIX バンドルを投稿", "STIX 번들 게시";
    BundleFile => "STIX bundle file (JSON)", "STIX バンドルファイル (JSON)", "STIX 번들 파일 (JSON)";
    Post => "Post", "投稿", "게시";
    StoredWord => "stored", "件保存", "건 저장";
    FailedWord => "refused", "件拒否", "건 거부";
    Refused => "Refused objects", "拒否されたオブジェクト", "거부된 객체";
    Reason => "Reason", "理由", "이유";
    BackToCollection => "Back to the collection", "コレクションに戻る", "컬렉션으로 돌아가기";
    QuarterlyReport => "Quarterly joint report", "四半期共同報告", "분기 공동 보고서";
    ReportIntro => "one page per quarter across the three engines, printable to PDF", "3つのエンジンにわたる四半期ごとの1ページ、PDF に印刷可能", "세 엔진을 아우르는 분기별 한 페이지, PDF로 인쇄 가능";
    Quarter => "Quarter", "四半期", "분기";
    TheftsTraced => "Thefts traced (cases opened in the quarter)", "追跡した窃取 (当四半期に開いた事案)", "추적한 탈취 (이번 분기에 연 사건)";
    WhereFundsWent => "Where the funds went", "資金の行き先", "자금의 행방";
    StillFreezable => "Still freezable", "凍結可能な資金", "아직 동결 가능";
    FreezeNote => "Freeze candidates (exchanges) still holding tainted funds at the end of the data, less what is recorded frozen there.", "データ末尾の時点で汚染資金を保有している凍結候補 (取引所) から、記録された凍結額を差し引いた額。", "데이터 끝 시점에 오염 자금을 보유한 동결 후보 (거래소)에서 기록된 동결액을 뺀 금액.";
    Frozen => "Frozen", "凍結済み", "동결됨";
    FrozenAndFreezable => "Frozen and still freezable", "凍結済みと凍結可能な資金", "동결됨 및 아직 동결 가능";
    FreezesRecorded => "Freezes recorded", "記録された凍結", "기록된 동결";
    NoFreezes => "No freeze is recorded for this case.", "この事案に記録された凍結はありません。", "이 사건에 기록된 동결이 없습니다.";
    RecordFreeze => "Record a freeze", "凍結を記録", "동결 기록";
    FreezeAddress => "Address where the funds were frozen", "凍結されたアドレス", "동결된 주소";
    AmountBaseUnits => "Amount (base units, e.g. wei)", "金額 (最小単位, 例: wei)", "금액 (최소 단위, 예: wei)";
    AskedBy => "Partner who asked", "要請したパートナー", "요청한 파트너";
    Reference => "Reference", "参照番号", "참조 번호";
    FrozenAt => "Frozen at (YYYY-MM-DD or RFC 3339, UTC; empty: now)", "凍結日時 (YYYY-MM-DD または RFC 3339, UTC; 空欄: 現在)", "동결 시각 (YYYY-MM-DD 또는 RFC 3339, UTC; 비우면 현재)";
    ServiceLabel => "Service (empty: the address's label)", "サービス (空欄: アドレスのラベル)", "서비스 (비우면 주소의 라벨)";
    NoteWord => "Note", "メモ", "메모";
    RecordedBy => "Recorded by", "記録者", "기록자";
    Time => "Time", "日時", "시각";
    FrozenInQuarter => "Frozen in the quarter", "当四半期に凍結された資金", "이번 분기에 동결된 자금";
    NoFreezesInQuarter => "No freeze of a case you may see is recorded in this quarter.", "この四半期に記録された閲覧可能な事案の凍結はありません。", "이번 분기에 기록된 열람 가능한 사건의 동결이 없습니다.";
    NothingFreezable => "No freeze candidate holds tainted funds.", "汚染資金を保有する凍結候補はありません。", "오염 자금을 보유한 동결 후보가 없습니다.";
    NoCasesInQuarter => "No case you may see was opened in this quarter.", "この四半期に開かれた閲覧可能な事案はありません。", "이번 분기에 열린 열람 가능한 사건이 없습니다.";
    NoAlertsInQuarter => "No alert in this quarter.", "この四半期のアラートはありません。", "이번 분기의 경보가 없습니다.";
    IntelShared => "Intelligence newly shared, per partner", "パートナー別の新規共有インテリジェンス", "파트너별 신규 공유 인텔리전스";
    NoIntelInQuarter => "No object you may see was shared in this quarter.", "この四半期に共有された閲覧可能なオブジェクトはありません。", "이번 분기에 공유된 열람 가능한 객체가 없습니다.";
    EwsWarnings => "Early-warning warnings", "早期警戒の警告", "조기 경보 경고";
    CollapseClusters => "Collapse clusters", "クラスタを折りたたむ", "클러스터 접기";
    ExpandClusters => "Expand clusters", "クラスタを展開", "클러스터 펼치기";
    Cluster => "Cluster", "クラスタ", "클러스터";
    Members => "Addresses", "アドレス", "주소";
    TransfersCsv => "Transfers (CSV)", "送金 (CSV)", "이체 (CSV)";
    StixReport => "Case as STIX report", "事案の STIX レポート", "사건 STIX 보고서";
    AddressPanel => "Address", "アドレス詳細", "주소 정보";
    ClickNode => "Click a node of the graph to see its address and expand it.", "グラフのノードをクリックするとアドレスの詳細を表示し、展開します。", "그래프의 노드를 클릭하면 주소 정보를 보고 펼칩니다.";
    PathBetween => "Path between two addresses", "2 つのアドレス間の経路", "두 주소 사이의 경로";
    PathFrom => "From address", "始点アドレス", "시작 주소";
    PathTo => "To address", "終点アドレス", "끝 주소";
    FindPath => "Find the path", "経路を探す", "경로 찾기";
    ShareWithPartners => "Share with partners", "パートナーと共有", "파트너와 공유";
    NoWritableCollection => "Your partner may write into no collection.", "あなたのパートナーが書き込めるコレクションはありません。", "귀하의 파트너가 쓸 수 있는 컬렉션이 없습니다.";
    Collection => "Collection", "コレクション名", "컬렉션 이름";
    Notes => "Notes", "メモ", "메모";
    NoNotes => "No notes yet.", "メモはまだありません。", "아직 메모가 없습니다.";
    AddNote => "Add a note", "メモを追加", "메모 추가";
    Labels => "Labels", "ラベル一覧", "라벨 목록";
    Actor => "Actor", "アクター", "행위자";
    Jurisdiction => "Jurisdiction", "管轄", "관할";
    Balance => "Balance now", "現在の残高", "현재 잔액";
    Tainted => "Tainted received", "受け取った汚染額", "받은 오염 금액";
    Exposure => "Exposure (tainted share of funds received)", "エクスポージャー(受領資金に占める汚染の割合)", "노출도(받은 자금 중 오염 비율)";
    FirstTainted => "First tainted", "最初の汚染", "최초 오염";
    Hops => "Hops from the seeds", "起点からのホップ数", "시작 주소로부터의 홉 수";
    Role => "Role", "役割", "역할";
    NoPath => "No path between these addresses.", "これらのアドレス間に経路はありません。", "이 주소들 사이에 경로가 없습니다.";
    NodesShown => "addresses shown", "件のアドレスを表示", "개 주소 표시";
    AllCases => "All cases", "すべての事案", "모든 사건";
    Service => "Service", "サービス", "서비스";
    AllPartners => "All partners", "すべてのパートナー", "모든 파트너";
    KindService => "Reached a service", "サービスに到達", "서비스 도달";
    KindNewHop => "New hop", "新しいホップ", "새 홉";
    KindLarge => "Large movement", "大口の移動", "대규모 이동";
    LiveOn => "Live: new alerts appear here as the watch raises them.", "ライブ: 監視が発したアラートがここに表示されます。", "실시간: 감시가 발생시킨 새 경보가 여기에 표시됩니다.";
    NoAlertsYet => "No alert you may see yet; new ones appear here live.", "閲覧可能なアラートはまだありません。新しいアラートはここにライブで表示されます。", "아직 볼 수 있는 경보가 없습니다. 새 경보는 여기에 실시간으로 표시됩니다.";
    Error => "Error", "エラー", "오류";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words that are the same in every language (codes, product names).
    const SAME: &[&str] = &[];

    #[test]
    fn every_string_is_translated() {
        for m in Msg::ALL {
            let en = m.text(Lang::En);
            assert!(!en.is_empty(), "{m:?}");
            for l in [Lang::Ja, Lang::Ko] {
                let t = m.text(l);
                assert!(!t.is_empty(), "{m:?} {l:?}");
                assert!(
                    t != en || SAME.contains(&en),
                    "{m:?} is not translated into {l:?}"
                );
            }
        }
    }

    #[test]
    fn language_tags_round_trip() {
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.tag()), Some(l));
        }
        assert_eq!(Lang::parse("fr"), None);
    }
}
