# Python's subprocess under the emulator: run, check_output, Popen with pipes both ways, a pipeline of two host
# programs, a missing program (the exec error travels back through subprocess's close-on-exec pipe), kill and wait.
# The programs started are the host's (echo, sh, tr, seq, wc, sleep). With the argument "self", also a child Python
# (the same arm64 interpreter, executed under the emulator; qemu-aarch64 needs binfmt_misc for that).
import subprocess
import sys

r = subprocess.run(["echo", "from a host program"], capture_output=True, text=True)
print("run:", r.returncode, r.stdout.strip())
r = subprocess.run(["sh", "-c", "exit 3"])
print("exit status:", r.returncode)
try:
    subprocess.check_output(["sh", "-c", "echo partial; exit 5"])
except subprocess.CalledProcessError as e:
    print("CalledProcessError:", e.returncode, e.output.decode().strip())
p = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, _ = p.communicate(b"piped through tr\n")
print("communicate:", p.returncode, out.decode().strip())
try:
    subprocess.run(["/nonexistent/program"])
except FileNotFoundError as e:
    print("missing program:", e.errno)
p1 = subprocess.Popen(["seq", "1", "100"], stdout=subprocess.PIPE)
p2 = subprocess.Popen(["wc", "-l"], stdin=p1.stdout, stdout=subprocess.PIPE)
p1.stdout.close()
print("pipeline:", p2.communicate()[0].decode().strip(), p1.wait())
p = subprocess.Popen(["sleep", "10"])
p.kill()
print("killed:", p.wait())
r = subprocess.run(["sh", "-c", "read line; echo got $line"], input="input line\n", capture_output=True, text=True, timeout=30)
print("input and timeout:", r.stdout.strip())
if len(sys.argv) > 1 and sys.argv[1] == "self":
    r = subprocess.run([sys.executable, "-S", "-c", "import os; print('child python', os.getppid() > 0)"],
                       capture_output=True, text=True)
    print("python child:", r.returncode, r.stdout.strip())
print("done")
