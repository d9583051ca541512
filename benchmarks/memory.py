"""Peak resident memory of a piece of Python, run in a fresh process."""

import subprocess
import sys

_PRINT_VMHWM = "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"


def peak_resident_mb(code):
    """VmHWM in MB of a fresh `python -c code`. Not getrusage's ru_maxrss: after fork + exec it keeps the
    parent's high-water mark, so it would report this process's memory."""
    out = subprocess.run([sys.executable, "-c", f"{code}\n{_PRINT_VMHWM}"], capture_output=True, text=True,
                         check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024
