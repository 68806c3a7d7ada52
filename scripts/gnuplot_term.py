"""The png terminal this machine's gnuplot offers, for the reports' charts
(scripts/demo-report.py, scripts/compare-report.py)."""
import re
import subprocess


def gnuplot_terminal(size):
    """'pngcairo size W,H ...' or 'png size W,H'; None without a png terminal."""
    try:
        out = subprocess.run(['gnuplot', '-e', 'set terminal'], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = out.stdout + out.stderr
    if re.search(r'^\s*pngcairo\s', text, re.M):
        return f'pngcairo size {size} font "sans,10"'
    if re.search(r'^\s*png\s', text, re.M):
        return f'png size {size}'
    return None
