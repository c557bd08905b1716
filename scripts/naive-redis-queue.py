#!/usr/bin/env python3
"""The seed's naive Redis queue, kept only as a baseline for scripts/bench-redis.

Client: LPUSH the request, then GET its response key every 100 ms. Worker: BRPOP, echo, SET the response
with a TTL. Usage: naive-redis-queue.py worker|bench PORT [REQUESTS] [INFLIGHT]. bench prints one JSON line.
"""
import json
import statistics
import sys
import threading
import time
import uuid

import redis

QUEUE, POLL, TTL = "naive:requests", 0.1, 300


def worker(port):
    r = redis.Redis(port=port)
    while True:
        item = r.brpop(QUEUE, timeout=1)
        if item is None:
            continue
        request = json.loads(item[1])
        r.set("naive:response:" + request["id"], request["payload"], ex=TTL)


def bench(port, requests, inflight):
    latencies, lock, next_index = [], threading.Lock(), [0]
    payload = "x" * 64

    def client():
        r = redis.Redis(port=port)
        while True:
            with lock:
                if next_index[0] >= requests:
                    return
                next_index[0] += 1
            started = time.perf_counter()
            request_id = str(uuid.uuid4())
            r.lpush(QUEUE, json.dumps({"id": request_id, "payload": payload}))
            while r.get("naive:response:" + request_id) is None:
                time.sleep(POLL)
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(inflight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(json.dumps({
        "queue_type": "naive (LPUSH/BRPOP + GET every 100 ms)", "requests": requests, "inflight": inflight,
        "round_trips_per_second": round(requests / seconds, 1), "seconds": round(seconds, 3),
        "p50_ms": round(cuts[49] * 1000, 3), "p99_ms": round(cuts[98] * 1000, 3),
    }))


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "worker":
        worker(port)
    else:
        bench(port, int(sys.argv[3]) if len(sys.argv) > 3 else 10000, int(sys.argv[4]) if len(sys.argv) > 4 else 32)
