#!/usr/bin/env python3
"""Key-to-screen latency of the live UI under an exec storm (root): tmux sends `?` twenty
times and polls the pane until the help popup toggles. Includes tmux's capture time."""
import statistics, subprocess, sys, threading, time
S="lat"
subprocess.run(["tmux","kill-session","-t",S],stderr=subprocess.DEVNULL)
subprocess.run(["tmux","new-session","-d","-s",S,"-x","120","-y","40","env","TERM=xterm-256color",sys.argv[1]],check=True)
def cap(): return subprocess.run(["tmux","capture-pane","-p","-t",S],capture_output=True,text=True).stdout
t0=time.time()
while "Processes (" not in cap():
    time.sleep(0.05)
    if time.time()-t0>30: raise SystemExit("no UI")
stop=False
def storm():
    while not stop:
        subprocess.run(["/bin/true"])
threads=[threading.Thread(target=storm) for _ in range(2)]
[t.start() for t in threads]
time.sleep(1)
# Tab toggles the focused pane: the border style changes, so compare the help toggle instead (text change)
lat=[]
for i in range(20):
    before=cap()
    key="?"
    start=time.time()
    subprocess.run(["tmux","send-keys","-t",S,key])
    while True:
        now=cap()
        if ("Keys (Esc closes)" in now) != ("Keys (Esc closes)" in before):
            break
        if time.time()-start>5: break
    lat.append((time.time()-start)*1000)
    time.sleep(0.1)
stop=True
[t.join() for t in threads]
subprocess.run(["tmux","send-keys","-t",S,"q"]); time.sleep(0.5)
subprocess.run(["tmux","kill-session","-t",S],stderr=subprocess.DEVNULL)
print("key-to-screen ms under exec storm: median %.1f p90 %.1f max %.1f (incl. tmux capture polling)"%(statistics.median(lat),sorted(lat)[17],max(lat)))
