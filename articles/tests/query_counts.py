"""Queries per reader page: pinned by the tests (articles/tests/test_views.py) and read by the
benchmark (bench/http_bench.py) for its table, so the two cannot drift apart.

Measured, then pinned. A count that grows with the data is an N+1 bug, not a number to raise.
"""

# Every page an anonymous visitor may be served from the page cache first reads the archive
# version (articles/caching.py); a page found in the cache costs this and nothing more.
PAGE_CACHE_CHECK = 1

# Rendering each page, on top of PAGE_CACHE_CHECK for anonymous visitors.
RENDER = {
    "home": 3,  # the page of snapshots, the featured ones, the category navigation
    "category": 4,  # the category, the page of snapshots, the navigation, the sources of the filter
    "category_filtered": 5,  # ... and the source named by the filter
    # The snapshot, its related links (crawled and computed, one UNION), the other reprints of its
    # story, more in its category, the navigation.
    "detail": 5,
    # A withheld snapshot's 451 page: the snapshot, the decisions that withhold it (however many,
    # through articles.withholding), the navigation. Never cached.
    "withheld": 3,
    "captures": 3,  # the snapshot, its captures (compared in memory), the navigation
    # Search: choosing the plan, the page of results, the sources and categories of the filter form,
    # the header's categories; a filter value adds its lookup; a refused query searches nothing.
    "search": 5,
    "search_rare": 5,  # fewer matches than a page and one more (see RENDER_POSTGRESQL)
    # Past FEW_MATCHES candidates (a common word at a million), choosing the plan takes a second
    # query on SQLite (RENDER_POSTGRESQL below).
    "search_common": 6,
    "search_filtered": 7,
    "search_relevance": 5,
    "search_message": 3,
    "feed_latest": 1,
    "feed_category": 2,  # the category, its entries
    "sitemap_index": 2,
    "sitemap_snapshots": 2,
    "sitemap_pages": 1,
}

# A page rendered after another of the same archive version and language reuses the parts they
# share (newsarchive/fragments.py): the category navigation, and on a category page the filter
# fields (for the same filter choice: another cursor, another category) or else the options of
# their source select.
RENDER_KEPT = {
    "category": RENDER["category"] - 2,
    "category_filtered": RENDER["category_filtered"] - 2,
    "detail": RENDER["detail"] - 1,
}

# PostgreSQL (articles.search.choose_plan) first asks whether the query is common among the newest
# snapshots: for a common word that is the whole choice, one query; for a rare one the index's
# candidates are read after it, two. (The tests' "search" query is common there: 30 matches.)
RENDER_POSTGRESQL = {**RENDER, "search_common": RENDER["search"], "search_rare": RENDER["search_rare"] + 1}

# Queries choosing the plan of a query with fewer matches than a page and one more.
RARE_QUERY_PLAN = {"sqlite": 1, "postgresql": 2}

# A logged-in reader's page also reads the session and its user (the header's account links).
LOGGED_IN = 2

# The admin's large lists, the same whatever the number of rows (PostgreSQL counted by the planner's
# estimate, as past 100,000 rows). Snapshots, for a superuser, on a page past the first: session,
# user, the filters' categories and sources, the count, the page's ids, its rows, the date
# hierarchy's first and last day (9, as measured at a million). The queue,
# for a moderator: session, user, the user's and the group's permissions, the count, the page.
ADMIN = {
    "snapshots": 9,
    "queue": 7,
}
