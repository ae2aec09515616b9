#!/usr/bin/env python3
"""Records raw proc connector datagrams for the decoder fixtures (ProcConnectorFormatTests).

Run as root in the initial PID/user/net namespaces. Subscribes (PROC_CN_MCAST_LISTEN), then a
child does: fork (a grandchild), setresgid, setresuid, prctl(PR_SET_NAME), a thread, exec of
/bin/true, and exits; prints one hex line per datagram that concerns the child's processes
(the host is busy: other processes' events are filtered out by pid).
"""
import ctypes, functools, os, select, socket, struct, sys, threading, time
print = functools.partial(print, flush=True)

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
libc = ctypes.CDLL(None, use_errno=True)

s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
s.bind((0, CN_IDX_PROC))
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
seq = 4242
cn = struct.pack("=IIIIHH", 1, 1, seq, 777, 4, 0) + struct.pack("=I", 1)  # the ack comes back with ack 778
s.sendto(struct.pack("=IHHII", 16 + len(cn), 3, 0, seq, 0) + cn, (0, 0))

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(r, 1)  # wait until the parent has seen the ack
    if os.fork() == 0:
        os._exit(0)
    os.wait()
    os.setresgid(1234, 1234, 1234)
    os.setresuid(4321, 4321, 4321)
    libc.prctl(15, b"renamed-by-prctl", 0, 0, 0)  # PR_SET_NAME, 16 bytes: no NUL in the event
    t = threading.Thread(target=lambda: None); t.start(); t.join()
    os.execv("/bin/true", ["true"])

watched = {pid}
deadline = time.time() + 5
acked = False
done = False
while time.time() < deadline and not done:
    if not select.select([s], [], [], 0.5)[0]:
        continue
    data = s.recv(65536)
    if len(data) < 68:
        print("short", data.hex()); continue
    what = struct.unpack_from("=I", data, 36)[0]
    body = struct.unpack_from("=4i", data, 52)
    if what == 0:
        print("ack", data.hex())
        if not acked:
            acked = True
            os.write(w, b"x")
        continue
    if what == 1:  # fork: parent_pid, parent_tgid, child_pid, child_tgid
        # A thread's parent is its process's parent (real_parent), so match the child too.
        if body[1] in watched or body[3] in watched:
            watched.add(body[3])
        else:
            continue
    elif body[1] not in watched:
        continue
    print(hex(what), data.hex())
    if what == 0x80000000 and body[0] == pid:
        done = True
os.waitpid(pid, 0)
print("uname -r:", os.uname().release, file=sys.stderr)
