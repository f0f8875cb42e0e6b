import pytest

from articles.extraction import site_of


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("m.people.com.cn", "people.com.cn"),
        ("sd.people.com.cn", "people.com.cn"),
        ("www.gov.cn", "www.gov.cn"),
        ("news.sina.com.cn", "sina.com.cn"),
        ("WWW.Example.CN.", "example.cn"),
        ("a.b.example.org", "example.org"),
        ("bbc.co.uk", "bbc.co.uk"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
    ],
)
def test_a_hosts_site_is_its_registrable_name(host, site):
    assert site_of(host) == site
