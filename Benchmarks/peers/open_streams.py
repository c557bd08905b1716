"""Holds many event streams and long polls open on one gateway, for scripts/bench-gateway-idle.

    python open_streams.py PORT COUNT submit     # submits COUNT tasks with ids idle-0 ... (no worker yet)
    python open_streams.py PORT COUNT hold FILE [sse|poll|mixed]
                                                 # opens COUNT connections (by default half SSE, half long polls), writes
                                                 # "open N" to FILE once all are open, then waits for every one to
                                                 # see its task completed and prints "completed N of COUNT"
Standard library only.
"""
import asyncio
import sys

HOST = "127.0.0.1"


async def submit(port, count):
    semaphore = asyncio.Semaphore(64)

    async def one(index):
        async with semaphore:
            reader, writer = await asyncio.open_connection(HOST, port)
            body = b"question %d" % index
            writer.write(b"POST /v1/tasks/submit HTTP/1.1\r\nHost: x\r\nIdempotency-Key: idle-%d\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (index, len(body), body))
            await writer.drain()
            answer = await reader.read()
            writer.close()
            assert b" 202 " in answer.split(b"\r\n", 1)[0], answer[:200]

    await asyncio.gather(*(one(index) for index in range(count)))


async def hold(port, count, report, mode="mixed"):
    opened = 0
    completed = 0
    all_open = asyncio.Event()
    semaphore = asyncio.Semaphore(200)

    async def one(index):
        nonlocal opened, completed
        async with semaphore:
            reader, writer = await asyncio.open_connection(HOST, port)
            sse = mode == "sse" or (mode == "mixed" and index % 2 == 0)
            if sse:
                path = b"/v1/tasks/idle-%d/events" % index
            else:
                path = b"/v1/tasks/idle-%d/wait?timeout=600" % index
            writer.write(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
            await writer.drain()
            if sse:
                # An event stream answers at once; a long poll answers only when its task finishes.
                head = await reader.readuntil(b"\r\n\r\n")
                assert b" 200 " in head.split(b"\r\n", 1)[0], head[:200]
        opened += 1
        if opened == count:
            all_open.set()
        seen = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            seen += chunk
            if b'"status":"completed"' in seen:
                completed += 1
                break
        writer.close()

    tasks = [asyncio.create_task(one(index)) for index in range(count)]
    await all_open.wait()
    with open(report, "w") as out:
        out.write("open %d\n" % opened)
    await asyncio.gather(*tasks, return_exceptions=True)
    print("completed %d of %d" % (completed, count))


if __name__ == "__main__":
    port, count = int(sys.argv[1]), int(sys.argv[2])
    if sys.argv[3] == "submit":
        asyncio.run(submit(port, count))
    else:
        asyncio.run(hold(port, count, sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "mixed"))
