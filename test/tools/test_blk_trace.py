#!/usr/bin/env python3
"""tools/blk-trace on canned TRACE lines: a merged request, a retried one,
a tag reused, a second disk, and a console without TRACE lines."""
import subprocess
import sys

TOOL = sys.argv[1]

LOG = """\
levblk: booting
TRACE ns=1000 dev=vda ev=queue op=write tag=0 sector=0 sectors=8 status=0
TRACE ns=1000 dev=vda ev=merge op=write tag=0 sector=0 sectors=16 status=0
TRACE ns=3000 dev=vda ev=dispatch op=write tag=0 sector=0 sectors=16 status=0
TRACE ns=3000 dev=vdb ev=queue op=read tag=0 sector=64 sectors=8 status=0
TRACE ns=3000 dev=vdb ev=dispatch op=read tag=0 sector=64 sectors=8 status=0
TRACE ns=9000 dev=vda ev=complete op=write tag=0 sector=0 sectors=16 status=-5\r
TRACE ns=9000 dev=vda ev=requeue op=write tag=0 sector=0 sectors=16 status=0
TRACE ns=10000 dev=vda ev=dispatch op=write tag=0 sector=0 sectors=16 status=0
TRACE ns=20000 dev=vda ev=complete op=write tag=0 sector=0 sectors=16 status=0
TRACE ns=21000 dev=vda ev=queue op=flush tag=0 sector=0 sectors=0 status=0
TRACE ns=22000 dev=vda ev=dispatch op=flush tag=0 sector=0 sectors=0 status=0
TRACE ns=25000 dev=vda ev=complete op=flush tag=0 sector=0 sectors=0 status=0
TRACE ns=26000 dev=vdb ev=complete op=read tag=0 sector=64 sectors=8 status=0
TRACE_END events=13 dropped=0
RESULT PASS
"""


def run(args, text):
    return subprocess.run([TOOL] + args, input=text, capture_output=True, text=True)


def main():
    r = run([], LOG)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    rq = [l for l in lines if l.startswith('vd')]
    assert len(rq) == 3, rq  # vda's write, vda's flush (tag 0 reused), vdb's read
    assert 'merges 1' in rq[0] and 'requeues 1' in rq[0] and 'status 0' in rq[0], rq[0]
    # Last attempt: requeued at 9000, dispatched at 10000, completed at 20000.
    assert 'dispatch +1.0us' in rq[0] and 'complete +10.0us' in rq[0], rq[0]
    sa = [l for l in lines if l.startswith('SUMMARY dev=vda ')][0]
    for f in ('requests=3', 'made=2', 'completed=2', 'merges=1', 'requeues=1', 'errors=0',
              'dropped=0'):
        assert f' {f}' in sa, (f, sa)
    sb = [l for l in lines if l.startswith('SUMMARY dev=vdb ')][0]
    assert ' requests=1 ' in sb and ' d2c_us_max=23.0 ' in sb, sb
    r = run(['--summary', '--dev', 'vdb'], LOG)
    assert r.stdout.splitlines() == [sb], r.stdout
    r = run([], 'levblk: booting\nRESULT PASS\n')
    assert r.returncode == 1 and 'no TRACE lines' in r.stderr, r
    print('test_blk_trace: ok')


if __name__ == '__main__':
    main()
