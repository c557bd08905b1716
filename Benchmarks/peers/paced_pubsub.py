"""The floor of paced streaming over Redis pub/sub on this host, as a reference beside Courier's paced chunk latency
(scripts/bench-streaming-paced): 32 streams, each publishing 100 messages, one every 10 ms, with plain PUBLISH from
one process to a subscriber in another, which times each message on receipt against the wall-clock time written
into it. No queue, no event log, no batching: what is left of the latency is Redis, loopback and scheduling on a
machine shared with everything else. A host that stalls every process now and then shows it here as well.

    python3 paced_pubsub.py PORT [STREAMS] [MESSAGES] [INTERVAL_MS]

Prints one JSON line: {"messages", "p50_ms", "p99_ms", "max_ms"}. Standard library only (RESP over a socket).
"""
import asyncio
import json
import multiprocessing
import socket
import sys
import time


def command(*parts):
    encoded = [part if isinstance(part, bytes) else str(part).encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)


def read_pushes(connection, expected, ready):
    """Reads pub/sub pushes ("message" arrays of three bulk strings) and returns each one's latency in ms."""
    latencies, buffer = [], b""
    subscribed = 0
    while len(latencies) < expected:
        data = connection.recv(1 << 16)
        if not data:
            break
        buffer += data
        while True:
            parsed = parse_array(buffer)
            if parsed is None:
                break
            items, buffer = parsed
            if items[0] == b"subscribe":
                subscribed += 1
                if subscribed == int(items[2]) and ready is not None:
                    ready.set()
            elif items[0] == b"message":
                latencies.append((time.time_ns() - int(items[2])) / 1e6)
    return latencies


def parse_array(buffer):
    """One RESP array of bulk strings and integers from the front of `buffer`, or None when it is not whole yet."""
    if not buffer:
        return None
    if not buffer.startswith(b"*"):
        raise ValueError(f"unexpected reply {buffer[:40]!r}")
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    count, position, items = int(buffer[1:end]), end + 2, []
    for _ in range(count):
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None
        kind, value = buffer[position:position + 1], buffer[position + 1:end]
        if kind == b":":
            items.append(value)
            position = end + 2
        else:
            length = int(value)
            if len(buffer) < end + 2 + length + 2:
                return None
            items.append(buffer[end + 2:end + 2 + length])
            position = end + 2 + length + 2
    return items, buffer[position:]


def subscriber(port, streams, messages, ready, results):
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(command("SUBSCRIBE", *[f"paced:{stream}" for stream in range(streams)]))
    results.put(read_pushes(connection, streams * messages, ready))


async def publish(port, streams, messages, interval):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def drain_replies():
        for _ in range(streams * messages):
            await reader.readline()  # ":<receivers>\r\n"

    async def stream(index):
        await asyncio.sleep(index * interval / streams)
        for _ in range(messages):
            writer.write(command("PUBLISH", f"paced:{index}", time.time_ns()))
            await asyncio.sleep(interval)

    replies = asyncio.ensure_future(drain_replies())
    await asyncio.gather(*(stream(index) for index in range(streams)))
    await replies
    writer.close()


def main():
    port = int(sys.argv[1])
    streams = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    messages = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    interval = (float(sys.argv[4]) if len(sys.argv) > 4 else 10) / 1000
    ready, results = multiprocessing.Event(), multiprocessing.Queue()
    # A daemon: if messages go missing, the script fails at the timeout below instead of waiting for them forever.
    process = multiprocessing.Process(
        target=subscriber, args=(port, streams, messages, ready, results), daemon=True)
    process.start()
    if not ready.wait(10):
        sys.exit("paced_pubsub: the subscriber did not subscribe within 10 s")
    asyncio.run(publish(port, streams, messages, interval))
    latencies = sorted(results.get(timeout=30))
    process.join()
    count = len(latencies)
    print(json.dumps({
        "messages": count,
        "p50_ms": round(latencies[count // 2], 3),
        "p99_ms": round(latencies[min(count - 1, int(count * 0.99))], 3),
        "max_ms": round(latencies[-1], 3),
    }))


if __name__ == "__main__":
    main()
