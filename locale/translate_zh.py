"""Fill the Simplified Chinese catalogue from the table below, then compile it.

Usage: python manage.py makemessages -l zh_Hans ... && python locale/translate_zh.py
Needs polib (a development tool, not a dependency of the site). The seed page's own wording and
punctuation (ASCII colon and comma) are kept for the snapshot page's labels.
"""

import subprocess
import sys
from pathlib import Path

import polib

ZH = {
    "Move to category": "移动到类别",
    "Search by title, or by the full 40-character key.": "按标题搜索，或输入完整的 40 位键值。",
    "Captured": "采集内容",
    "Record": "记录",
    "body": "正文",
    "This snapshot is withheld by a removal decision; it cannot be reverted here.": "该快照已因删除决定而被屏蔽，不能在此还原。",
    "Publish selected snapshots": "发布所选快照",
    "Published %(count)d snapshots.": "已发布 %(count)d 个快照。",
    "Hide selected snapshots": "隐藏所选快照",
    "Hid %(count)d snapshots.": "已隐藏 %(count)d 个快照。",
    "Move selected snapshots to a category…": "将所选快照移动到类别…",
    "Moved %(count)d snapshots.": "已移动 %(count)d 个快照。",
    "Move snapshots to a category": "将快照移动到类别",
    "Published from": "发布日期自",
    "Published until": "发布日期至",
    "Source": "来源",
    "All sources": "全部来源",
    "name": "名称",
    "slug": "网址名",
    "category": "类别",
    "categories": "类别",
    "source": "来源",
    "sources": "来源",
    "published": "已发布",
    "hidden": "已隐藏",
    "withheld": "已屏蔽",
    "key": "键值",
    "A key is 40 lower-case hexadecimal digits.": "键值须为 40 位小写十六进制数字。",
    "SHA-1 of the canonical original URL, or of source, title and publication time.": "规范化原文地址的 SHA-1；无地址时为来源、标题和发布时间的 SHA-1。",
    "title": "标题",
    "reprinted from": "转自",
    "byline": "署名",
    "published at": "发布时间",
    "The source's publication time.": "来源网站的发布时间。",
    "captured at": "快照生成时间",
    "When the crawler took the snapshot.": "爬虫生成快照的时间。",
    "collected by": "采集者",
    "The crawler that captured it.": "采集该快照的爬虫。",
    "original URL": "原文地址",
    "content hash": "内容哈希",
    "status": "状态",
    "featured": "推荐",
    "added": "收录时间",
    "changed": "修改时间",
    "snapshot": "快照",
    "snapshots": "快照",
    "position": "顺序",
    "excerpt": "摘要",
    "date": "日期",
    "archived snapshot": "本站快照",
    "The snapshot here that the link points to, when we hold it.": "链接指向的本站快照（如已收录）。",
    "URL": "网址",
    "The link's original address.": "链接的原始地址。",
    "related link": "相关链接",
    "related links": "相关链接",
    "Not found": "页面不存在",
    "There is no page at this address. It may have been mistyped, or the snapshot may not be public.": "此地址没有页面。可能是地址有误，或该快照未公开。",
    "Latest snapshots": "最新快照",
    "Move": "移动",
    "Filter": "筛选",
    "Please correct the filter:": "请修正筛选条件:",
    "Apply": "应用",
    "Clear filters": "清除筛选",
    "Snapshots, newest first": "快照（最新在前）",
    "No snapshots match.": "没有符合条件的快照。",
    "Pages": "分页",
    "Newer": "较新",
    "Page %(number)s of %(total)s": "第 %(number)s 页，共 %(total)s 页",
    "Older": "较早",
    "Breadcrumbs": "导航",
    "My subscriptions": "我的订阅",
    "Category:": "类别:",
    "Published:": "发布时间:",
    "Source:": "来源:",
    "Reprinted from:": "本文转自:",
    "The above is a snapshot of a news item, collected and archived by the %(collector)s crawler. This site has not changed it in any way, and its content does not represent this site's position.": "以上内容为资讯信息快照,由%(collector)s爬虫进行采集并收录,本站未对信息做任何修改,信息内容不代表本站立场。",
    "Snapshot taken:": "快照生成时间:",
    'Looking up snapshots on this site is a non-profit public service. <a href="%(url)s" rel="nofollow">If this infringes your rights, contact us to have it removed</a>.': '本站信息快照查询为非营利公共服务,<a href="%(url)s" rel="nofollow">如有侵权请联系我们进行删除</a>。',
    "Original address:": "信息原文地址:",
    "not recorded": "未记录",
    "Related": "相关资讯",
    "More news about %(category)s": "更多关于%(category)s的资讯",
    "Featured": "推荐",
    "Across all categories": "全部类别",
    "No snapshots yet.": "暂无快照。",
    "Skip to content": "跳到正文",
    "Categories": "类别",
    "Language": "语言",
    "Switch": "切换",
    "newsarchive keeps snapshots of news as they were published, with where they came from.": "newsarchive 保存新闻发布时的快照及其出处。",
}
ZH_PLURAL = {
    "%(count)d snapshot was already so.": "%(count)d 个快照已是该状态。",
    "%(count)d withheld snapshot was left alone: only the moderation workflow can change it.": "%(count)d 个已屏蔽的快照未作改动：只有审核流程可以更改。",
    "Move %(counter)s snapshot to:": "将 %(counter)s 个快照移动到:",
}


def main() -> int:
    path = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"
    catalog = polib.pofile(str(path))
    catalog.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    missing = []
    for entry in catalog:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            if entry.msgid in ZH_PLURAL:
                entry.msgstr_plural = {0: ZH_PLURAL[entry.msgid]}
            else:
                missing.append(entry.msgid)
        elif entry.msgid in ZH:
            entry.msgstr = ZH[entry.msgid]
        else:
            missing.append(entry.msgid)
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    catalog.save()
    for msgid in missing:
        print(f"untranslated (Django's own catalogue may cover it): {msgid!r}", file=sys.stderr)
    return subprocess.call(["msgfmt", "--check", "-o", str(path.with_suffix(".mo")), str(path)])  # noqa: S603, S607


if __name__ == "__main__":
    sys.exit(main())
