"""Pages written for these tests in the shapes Chinese news sites use. Each is served by the local
server of capture/tests/conftest.py or written into WARC files; none is fetched from anywhere else."""

BODY = (
    "<p>在落地鲁西新区的上海正舍健康医疗美容药械综合生产现场，专业技术人员正在调试设备；一批科技含量高、带动能力强的优质项目相继签约落地。</p>"
    "<p>鲁西新区自成立以来，不断深化改革开放，夯实发展基础，壮大整体实力，加速产业结构优化升级，极大拉动了投资。</p>"
    "<p>产业和项目是鲁西新区的生命线，更是经济高质量发展的压舱石。鲁西新区在招商引资过程中创新推出全员招商工作法。</p>"
)

# 1. A 来源/作者/发布时间 line under the title, a 本文转自 line, a byline in brackets and a related-news list.
INFO_BLOCK = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>鲁西新区以环境之“优”谋发展之“势”_人民资讯</title>
<meta property="og:site_name" content="人民资讯"></head>
<body><div class="nav"><a href="/">首页</a> <a href="/caijing/">财经</a></div>
<div class="main"><h1>鲁西新区以环境之“优”谋发展之“势”</h1>
<div class="info">来源：人民网-山东频道　作者：孙安琪 王燕　发布时间：2023-09-14 11:24:00</div>
<div class="content" id="article">{BODY}<p>如今，鲁西新区以高昂的斗志和奋进的姿态抢时间、拓市场、拼服务，在奔跑中提速。（孙安琪 王燕）</p></div>
<div class="related-news"><h3>相关新闻</h3><ul>
<li><a href="/2023/1227/c1004-1.html">菏泽鲁西新区：书写高质量发展的“新区”答卷</a><p>主要工作和成效时，我们可以从政府工作报告中看到不少鲁西新区努力奔跑的身影。</p><span>2023-12-27 10:28</span></li>
<li><a href="/2023/0825/c1004-2.html">等你来约! 菏泽市生态环境现场帮扶项目启动</a><span class="date">2023-08-25 20:15</span></li>
</ul></div></div><div class="footer">版权所有 人民资讯</div></body></html>"""

# 2. JSON-LD NewsArticle; the time in UTC (10:30 in Shanghai).
JSON_LD = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>长江经济带生态保护取得新进展 - 新华网</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "长江经济带生态保护取得新进展", "datePublished": "2024-03-01T02:30:00Z",
"author": [{{"@type": "Person", "name": "李明"}}, {{"@type": "Person", "name": "王芳"}}],
"publisher": {{"@type": "Organization", "name": "新华网"}}, "articleSection": "环境"}}</script></head>
<body><header><a href="/">新华网首页</a></header><article><h1>长江经济带生态保护取得新进展</h1>{BODY}</article>
<footer>新华网版权所有</footer></body></html>"""

# 3. Only article:published_time meta tags say when (with their own offset).
META_ONLY = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>新能源汽车销量再创新高</title>
<meta property="og:title" content="新能源汽车销量再创新高">
<meta property="og:site_name" content="经济日报">
<meta property="article:published_time" content="2024-05-06T07:08:09+08:00">
<meta property="article:section" content="汽车"></head>
<body><div id="content"><h1>新能源汽车销量再创新高</h1>{BODY}</div></body></html>"""

# 4. GBK, declared only in the page (the HTTP header names no charset); 𠮷 exists only in GB18030.
GBK = (
    """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>地方新闻</title></head>
<body><h1>菏泽牡丹节开幕　游客量创新高</h1><div class="info">来源：菏泽日报　发布时间：2024年04月09日 12:20</div>
<div class="article">"""
    + BODY
    + """<p>本文转自：大众日报</p></div></body></html>"""
)
GB18030_TITLE = "𠮷野家进驻菏泽"
GB18030 = f"""<html><head><meta charset="gb2312"><title>{GB18030_TITLE}</title></head>
<body><h1>{GB18030_TITLE}</h1><p class="time">2024-02-02 08:00</p>{BODY}</body></html>"""

# 5. A mobile page that names its desktop page (on the same site) as canonical.
MOBILE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>手机版：黄河流域高质量发展座谈会召开</title>
<link rel="canonical" href="/2024/0707/c1-42.html"></head>
<body><div class="m-header">返回</div><div class="m-art"><h1>黄河流域高质量发展座谈会召开</h1>
<p class="m-info"><span>新京报</span> <span>2024-07-07 18:05</span></p>{BODY}</div>
<div class="m-footer">打开APP阅读</div></body></html>"""

# 6. The seed page's related list: excerpts and dates, some with a title.
RELATED = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>鲁西新区优化营商环境</title></head>
<body><h1>鲁西新区优化营商环境</h1><div class="info">来源：人民资讯　发布时间：2023-10-21 19:51:00</div>
<div class="article">{BODY}</div>
<div class="xgxw"><ul>
<li><a href="/a/1.html">...民营经济是推动高质量发展的澎湃动力。鲁西新区持续优化营商环境</a><span>2023-11-28 12:12:00</span></li>
<li><a href="/a/2.html">鲁西新区：开展全域旅游系列活动</a><p>...闻办召开主题系列新闻发布会，鲁西新区有关负责人参加。</p><span>2024-04-09 12:20:00</span></li>
<li><a href="/a/3.html">高质量发展看新区|鲁西新区制造 向“光”而行</a><span>2023-10-21 19:51:00</span></li>
</ul></div></body></html>"""

# 7. No article: a list of links.
INDEX = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>财经频道</title></head>
<body><ul><li><a href="/1.html">一</a></li><li><a href="/2.html">二</a></li></ul></body></html>"""

ROBOTS = """User-agent: *
Disallow: /private/

User-agent: newsarchive
Disallow: /members/
"""
