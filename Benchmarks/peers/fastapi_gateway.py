"""The design's original stack, as a benchmark peer for Courier's gateway: FastAPI + uvicorn with the same three
endpoints (submit, status, wait), backed by Redis, with a worker that answers by echo and a client wait that polls
the task's status every 100 ms, as the design notes' service did.

    python fastapi_gateway.py serve PORT      # the API (REDIS_URL names the server)
    python fastapi_gateway.py worker          # the echo worker (one process, asyncio)

Keys: `peer:queue` (list of task ids), `peer:task:<id>` (hash: status, payload, result; 1 h TTL).
"""
import asyncio
import os
import sys
import uuid

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI, HTTPException, Request

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POLL_SECONDS = 0.1
TTL_SECONDS = 3600

app = FastAPI()
store = aioredis.from_url(REDIS_URL, max_connections=256)


def document(task_id, fields):
    status = fields.get(b"status", b"unknown").decode()
    answer = {"task_id": task_id, "status": status}
    if status == "completed":
        answer["result"] = fields.get(b"result", b"").decode()
    return answer


async def wait_for(task_id, timeout):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        fields = await store.hgetall("peer:task:" + task_id)
        if not fields:
            raise HTTPException(404, "no such task")
        if fields.get(b"status") in (b"completed", b"failed"):
            return document(task_id, fields)
        if asyncio.get_running_loop().time() >= deadline:
            return document(task_id, fields)
        await asyncio.sleep(POLL_SECONDS)


@app.post("/v1/tasks/submit")
async def submit(request: Request, wait: float = 0):
    task_id = request.headers.get("idempotency-key") or uuid.uuid4().hex
    body = await request.body()
    key = "peer:task:" + task_id
    async with store.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"status": "pending", "payload": body})
        pipe.expire(key, TTL_SECONDS)
        pipe.lpush("peer:queue", task_id)
        await pipe.execute()
    if wait > 0:
        return await wait_for(task_id, min(wait, 60))
    return {"task_id": task_id, "status": "pending"}


@app.get("/v1/tasks/{task_id}/status")
async def status(task_id: str):
    fields = await store.hgetall("peer:task:" + task_id)
    if not fields:
        raise HTTPException(404, "no such task")
    return document(task_id, fields)


@app.get("/v1/tasks/{task_id}/wait")
async def wait(task_id: str, timeout: float = 30):
    return await wait_for(task_id, min(timeout, 60))


async def work(concurrency=64):
    async def one():
        client = aioredis.from_url(REDIS_URL)
        while True:
            _, raw = await client.brpop("peer:queue")
            task_id = raw.decode()
            key = "peer:task:" + task_id
            payload = await client.hget(key, "payload")
            await client.hset(key, mapping={"status": "completed", "result": payload or b""})

    await asyncio.gather(*(one() for _ in range(concurrency)))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", loop="uvloop", http="httptools")
    else:
        asyncio.run(work())
