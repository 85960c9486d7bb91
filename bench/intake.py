"""Intake rate: POST /expenses (stored and committed before the 202) against GET /healthz.

Run: python -m bench.intake.
"""

import httpx

from bench.common import running_api, summary, timed

REQUESTS = 600
CONCURRENCY = 16


def main() -> None:
    with running_api() as bench:
        client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=CONCURRENCY))
        headers = {"Authorization": f"Bearer {bench.tokens['alice']}"}

        def submit(i: int) -> None:
            body = {
                "amount": f"{10 + i % 900}.00",
                "currency": "USD",
                "category": "travel",
                "merchant": f"Bench {i}",
                "description": "load",
                "incurred_on": "2026-11-01",
            }
            response = client.post(f"{bench.api}/expenses", json=body, headers=headers)
            assert response.status_code == 202, response.text

        def health(_i: int) -> None:
            assert client.get(f"{bench.api}/healthz").status_code == 200

        results: dict[str, list[float]] = {"baseline": [], "intake": []}
        walls = {"baseline": 0.0, "intake": 0.0}
        for r in range(3):
            for label, fn in (("baseline", health), ("intake", submit)):
                lat, wall = timed(fn, range(r * 1000, r * 1000 + REQUESTS // 3), CONCURRENCY)
                results[label] += lat
                walls[label] += wall
        base = summary("GET /healthz (baseline)", results["baseline"], walls["baseline"])
        intake = summary("POST /expenses (durable)", results["intake"], walls["intake"])
        print(f"intake rate / baseline rate = {intake['rate'] / base['rate']:.2f}")


if __name__ == "__main__":
    main()
