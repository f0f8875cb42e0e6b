"""Texts for the stories and related-news tests: the seed article's paragraphs, reprint variants of
them, and articles on the same topic that are not reprints (written for these tests)."""

from articles.tests.helpers import SEED_PAGE

SEED_LINES = [line.strip() for line in SEED_PAGE.read_text(encoding="utf-8").splitlines()]
# The seed's six body paragraphs: the long lines between 本文转自 and the crawler's notice.
SEED_PARAGRAPHS = [line for line in SEED_LINES if len(line) > 80 and not line.startswith(("以上内容", "..."))][:6]
assert len(SEED_PARAGRAPHS) == 6, SEED_PARAGRAPHS


def html(paragraphs: list[str]) -> str:
    return "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)


ORIGINAL = html(SEED_PARAGRAPHS)
# Reprints: a paragraph trimmed, one added, punctuation changed, another byline line.
TRIMMED = html(SEED_PARAGRAPHS[:-1])
ADDED = html(
    [*SEED_PARAGRAPHS, "记者从鲁西新区管委会获悉，下一步新区将继续优化审批服务，推动更多项目早落地、早投产、早见效。"]
)
REPUNCTUATED = html(
    [p.replace(",", "，").replace("。", ". ").replace("“", '"').replace("”", '"') for p in SEED_PARAGRAPHS]
)
REBYLINED = html(["（大众网记者 李明 通讯员 孙安琪）", *SEED_PARAGRAPHS[:-1], SEED_PARAGRAPHS[-1] + "（编辑 王芳）"])

# Same topic, same place names and phrases, other text: not reprints.
SAME_TOPIC = [
    html(
        [
            "今年以来，鲁西新区聚焦营商环境建设，推出企业开办“一网通办”，新设企业平均半天即可拿到营业执照。",
            "新区政务服务中心设立了项目帮办代办窗口，工作人员全程陪同企业办理环评、规划和施工许可等手续，"
            "累计为四十余个重点项目提供上门服务。",
            "在招商引资方面，鲁西新区组建了十二支产业链招商小分队，分赴长三角和珠三角开展驻点招商，"
            "上半年新签约亿元以上项目二十三个。",
            "鲁西新区有关负责人表示，将持续开展营商环境提升行动，让企业在新区办事更便捷、发展更安心。",
        ]
    ),
    html(
        [
            "秋收时节，鲁西新区的田间地头一派繁忙景象，大型收割机来回穿梭，农户们忙着晾晒和装运玉米。",
            "据了解，鲁西新区今年推广高标准农田建设三万亩，配套建设了智能灌溉设施和农机服务站，"
            "粮食单产比去年提高了百分之八。",
            "新区还引进了两家农产品精深加工企业，发展订单农业，带动周边村庄的农户稳定增收。",
            "鲁西新区农业农村部门负责人说，下一步将继续完善农业社会化服务体系，为乡村振兴打牢基础。",
        ]
    ),
]
