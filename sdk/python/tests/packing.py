"""What the test modules' host fakes share: an http-response packed as the host packs it
for ``send-packed``."""

from wit_world.imports import http


def packed(r):
    """``r`` (an ``HttpResponse``) as a ``PackedResponse``: the head as ``name\\nvalue\\n``
    lines, the timings as six numbers."""
    t = r.timings
    return http.PackedResponse(
        status=r.status,
        head=None if r.headers is None else "".join(f"{k}\n{v}\n" for k, v in r.headers),
        body=r.body, body_size=r.body_size, final_url=r.final_url,
        timings=[t.connect_us, t.tls_us, t.send_us, t.wait_us, t.receive_us, t.total_us])
