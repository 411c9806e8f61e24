"""Benchmark of ``manage.py outbox`` against its baselines, side by side in one run.

    .venv/bin/python bench/outbox_bench.py [--messages 100000] [--keep DIR]

Generates the messages once with the project's own backend (1% of them with
Django's file backend, as .log files of 50 messages): 20,000 in one folder, which
the 100,000 folder shares (hard links, and a copy of its index) before 80,000 more
are written to it. Then it times real ``manage.py outbox`` processes and prints each
figure and ratio against its target:

1. ``list`` (20 newest) on 100,000 messages vs on 100 (target ≤ 1.6×); every ``list``
   reads all the folder's names;
2. ``list --all --json`` on 20,000 vs a Python process that opens every file and reads
   its first 4 KiB (the I/O floor): as the backend wrote them, with the index (target
   ≤ 2.5×), and as if another program had dropped them in, with no index (target ≤ 4×;
   the index is removed before each run, since ``list`` writes the lines it lacked);
3. ``clear --noinput`` on 100,000 vs ``find DIR -name '*.eml' -delete`` on real copies
   (``cp -a``), best of three rounds taking turns at going first (target ≤ 1.5×);
4. peak memory (max RSS) of ``list --all --json`` on 100,000 (target < 200 MB);
5. ``show`` of a message with a 25 MB attachment vs ``show --raw`` of it, which reads the
   file once and writes it out (target < 2×).

Times are the best of several runs (the machine is shared); each process is timed
from start to exit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from outbox.index import INDEX_NAME  # noqa: E402 -- after the path is set

ENV = {"PATH": os.environ.get("PATH", ""), "DJANGO_ENV_FILE": "", "DEBUG": "true"}

BASELINE_READ = """
import os, sys
folder = sys.argv[1]
for name in os.listdir(folder):
    with open(os.path.join(folder, name), "rb") as stream:
        stream.read(4096)
"""


def generate(folder: Path, count: int, first: int = 0) -> None:
    """Messages ``first`` to ``count - 1``: reset-like Cyrillic mail, some with an attachment; 1% in .log files."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    os.environ.update(ENV)
    import django

    django.setup()
    from django.conf import settings
    from django.core import mail
    from django.core.mail import EmailMultiAlternatives

    from core.mail.config import FILE_BACKEND, OUTBOX_BACKEND

    settings.MAILERS = {
        "default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(folder)}},
        "log": {"BACKEND": FILE_BACKEND, "OPTIONS": {"file_path": str(folder)}},
    }

    def message(n: int) -> EmailMultiAlternatives:
        link = f"https://cinema.example/users/reset/{n:x}/c4v-{n:016x}/"
        result = EmailMultiAlternatives(
            f"Восстановление пароля №{n} на «Киноцентре»",
            f"Здравствуйте, пользователь {n}!\nОткройте ссылку: {link}\n",
            "Киноцентр <noreply@cinema.example>",
            [f"Пользователь {n} <user{n}@example.com>"],
        )
        result.attach_alternative(f'<p>Здравствуйте!</p><p><a href="{link}">Новый пароль</a></p>', "text/html")
        if n % 20 == 0:
            result.attach(f"отчёт-{n}.txt", "данные\n" * 50, "text/plain")
        return result

    in_logs = (count - first) // 100
    outbox, log_mailer = mail.mailers["default"], None
    batch = []
    for n in range(first, count - in_logs):
        batch.append(message(n))
        if len(batch) == 1000:
            outbox.send_messages(batch)
            batch = []
    outbox.send_messages(batch)
    for start in range(count - in_logs, count, 50):
        log_mailer = mail.mailers["log"]  # a new connection: a new .log file
        log_mailer.send_messages([message(n) for n in range(start, min(start + 50, count))])
        time.sleep(0.002)  # Django names .log files by second and object id: keep them distinct


def write_attachment_message(folder: Path) -> None:
    """One message with a text part, an HTML part and a 25 MB attachment, saved by the project's backend."""
    code = f"""
import os, django
django.setup()
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
options = {{"file_path": {str(folder)!r}}}
settings.MAILERS = {{"default": {{"BACKEND": "outbox.backend.EmailBackend", "OPTIONS": options}}}}
message = EmailMultiAlternatives("Отчёт", "Отчёт во вложении.\\n", "a@example.com", ["b@example.com"])
message.attach_alternative("<p>Отчёт во вложении.</p>", "text/html")
message.attach("отчёт.bin", os.urandom(25_000_000), "application/octet-stream")
mail.mailers["default"].send_messages([message])
"""
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**ENV, "DJANGO_SETTINGS_MODULE": "core.settings"}, check=True
    )


def folders(base: Path, count: int) -> tuple[Path, Path]:
    """``base/20000`` and ``base/<count>`` (made unless there): the second holds the first's
    messages (hard links, and a copy of its index, which the backend then extends) and the rest."""
    mid, big = base / "20000", base / str(count)
    if not (big / INDEX_NAME).exists():
        shutil.rmtree(base, ignore_errors=True)
        started = time.perf_counter()
        generate(mid, 20_000)
        big.mkdir()
        for name in os.listdir(mid):
            if name == INDEX_NAME:
                shutil.copyfile(mid / name, big / name)
            else:
                os.link(mid / name, big / name)
        generate(big, count, first=20_000)
        print(f"generated {count} messages in {time.perf_counter() - started:.0f} s into {base}")
    return mid, big


def newest(source: Path, target: Path, messages: int) -> Path:
    """The newest ``messages`` .eml files of ``source`` as hard links (the 20 newest need no index)."""
    target.mkdir()
    for name in sorted(name for name in os.listdir(source) if name.endswith(".eml"))[-messages:]:
        os.link(source / name, target / name)
    return target


def timed(command: list[str]) -> tuple[float, int]:
    """Wall time of a process and its peak RSS in KB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def best(command: list[str], runs: int, before=None) -> float:
    """The best time of ``runs`` runs; ``before()`` is called before each run."""
    times = []
    for _ in range(runs):
        if before:
            before()
        times.append(timed(command)[0])
    return min(times)


def outbox(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "outbox", *args]


def report(label: str, ours: float, base: float, target: float) -> None:
    ratio = ours / base
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"{label}: {ours * 1000:.0f} ms vs {base * 1000:.0f} ms = {ratio:.2f}× (target ≤ {target}×) {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="reuse (or create) the generated messages in DIR")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="outbox-bench-", dir="/tmp"))
    try:
        mid, source = folders(Path(options.keep) if options.keep else work / "source", options.messages)
        files = len(os.listdir(source)) - 1
        print(f"{files} files ({options.messages // 100} of the messages in .log files); best of {options.runs} runs")

        (work / "empty").mkdir()
        small = newest(source, work / "m100", 100)

        big_list = best(outbox("list", "--path", str(source)), options.runs)
        small_list = best(outbox("list", "--path", str(small)), options.runs)
        report("list (20 newest): 100,000 vs 100 messages", big_list, small_list, 1.6)

        floor = best([sys.executable, "-c", BASELINE_READ, str(mid)], options.runs)
        ours = best(outbox("list", "--all", "--json", "--path", str(mid)), options.runs)
        report("list --all --json, 20,000 messages (index) vs open+read 4 KiB each", ours, floor, 2.5)
        dropped = work / "dropped"
        dropped.mkdir()
        for name in os.listdir(mid):
            if name != INDEX_NAME:
                os.link(mid / name, dropped / name)
        no_index = best(
            outbox("list", "--all", "--json", "--path", str(dropped)),
            options.runs,
            before=lambda: (dropped / INDEX_NAME).unlink(missing_ok=True),
        )
        report("list --all --json, 20,000 messages (no index) vs open+read 4 KiB each", no_index, floor, 4.0)
        startup = best(outbox("list", "--all", "--json", "--path", str(work / "empty")), options.runs)
        print(f"  (of which Django's start-up, `outbox list` of an empty folder: {startup * 1000:.0f} ms)")

        elapsed, rss = timed(outbox("list", "--all", "--json", "--path", str(source)))
        verdict = "ok" if rss < 200 * 1024 else "OVER TARGET"
        print(f"list --all --json, 100,000 messages: {elapsed * 1000:.0f} ms, peak RSS {rss / 1024:.0f} MB", end=" ")
        print(f"(target < 200 MB) {verdict}")

        attached = work / "attached"
        write_attachment_message(attached)
        raw = best(outbox("show", "latest", "--raw", "--path", str(attached)), options.runs)
        shown = best(outbox("show", "latest", "--path", str(attached)), options.runs)
        report("show of a message with a 25 MB attachment vs show --raw of it", shown, raw, 2.0)

        # Real copies, not hard links: unlinking a file's last link is what clearing a real outbox costs.
        # Each round copies the folder twice, then clears one copy each way, taking turns at going first.
        ours, find = [], []
        for turn in range(min(options.runs, 3)):
            for name in ("clear-ours", "clear-find"):
                subprocess.run(["cp", "-a", str(source), str(work / name)], check=True)
            runs = [
                (ours, outbox("clear", "--noinput", "--path", str(work / "clear-ours"))),
                (find, ["find", str(work / "clear-find"), "-name", "*.eml", "-delete"]),
            ]
            for times, command in runs if turn % 2 == 0 else reversed(runs):
                times.append(timed(command)[0])
            for name in ("clear-ours", "clear-find"):
                shutil.rmtree(work / name)
        report("clear --noinput, 100,000 messages vs find -delete", min(ours), min(find), 1.5)
        every = " ".join(f"{t * 1000:.0f}" for t in ours), " ".join(f"{t * 1000:.0f}" for t in find)
        print(f"  (every run: ours {every[0]} ms; find {every[1]} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
