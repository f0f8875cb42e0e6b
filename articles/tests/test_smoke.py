from django.urls import reverse

from .helpers import make_snapshot


def test_healthz_answers_ok_without_queries(db, client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_published_snapshot_page_shows_title(db, client):
    snapshot = make_snapshot(title="一个标题")
    response = client.get(reverse("articles:detail", kwargs={"key": snapshot.key}))
    assert response.status_code == 200
    assert "一个标题" in response.content.decode()
