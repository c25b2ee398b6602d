"""Alarm tones: generated once as WAV files, played through Qt Multimedia or the desktop's sound command.

The patterns follow IEC 60601-1-8 in spirit (clinical.md): a high-priority alarm is a 10-pulse burst, medium 3
pulses, low 1, each pulse a 523 Hz (C5) tone with harmonics so it is easy to localise and hear in a quiet
room. Therapy-room mode plays medium and low from softer files; high always plays at full level.

Sound may be unavailable: ``PySide6.QtMultimedia`` needs the PySide6-Addons wheel and libpulse, and a machine
may have neither nor a player command. Then :attr:`TonePlayer.available` is False and the alarm bar reports a
technical alarm with the cause and what to do (``no_sound_message``), in the alarm log too; the alarms are never
muted silently.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from kapmonitor.core.paths import APP

log = logging.getLogger(__name__)

RATE_HZ = 22_050
PITCH_HZ = 523.25
HARMONICS = (1.0, 0.5, 0.35, 0.25, 0.15)  # fundamental and four harmonics
PULSE_S = {"high": 0.15, "medium": 0.20, "low": 0.20}
# Pulse start times (s) within one burst: high 3+2, pause, 3+2 (IEC's 10-pulse burst); medium 3; low 1.
PATTERNS: dict[str, tuple[float, ...]] = {
    "high": (0.0, 0.25, 0.5, 0.9, 1.15, 2.0, 2.25, 2.5, 2.9, 3.15),
    "medium": (0.0, 0.35, 0.7),
    "low": (0.0,),
}
REPEAT_S = {"high": 8.0, "medium": 15.0, "low": 30.0}  # how often a burst repeats while the alarm sounds
SOFT_LEVEL = 0.3  # therapy-room level of medium and low tones
PLAYER_COMMANDS = (("pw-play",), ("paplay",), ("aplay", "-q"))
VERSION = 1  # part of the file names: a change to the sound makes new files


def tone_dir() -> Path:
    override = os.environ.get("KAPMONITOR_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir(APP, appauthor=False))
    path = path / "tones"
    path.mkdir(parents=True, exist_ok=True)
    return path


def burst(priority: str, level: float = 1.0) -> np.ndarray:
    """One burst of the priority's pattern as 16-bit samples; ``level`` 0..1 scales its loudness."""
    pulse_s, starts = PULSE_S[priority], PATTERNS[priority]
    n_pulse = round(pulse_s * RATE_HZ)
    t = np.arange(n_pulse) / RATE_HZ
    tone = sum(w * np.sin(2 * np.pi * PITCH_HZ * (k + 1) * t) for k, w in enumerate(HARMONICS))
    ramp = np.minimum(1.0, np.minimum(t, pulse_s - t) / 0.015)  # 15 ms rise and fall: no clicks
    pulse = tone / sum(HARMONICS) * ramp
    out = np.zeros(round((starts[-1] + pulse_s + 0.1) * RATE_HZ))
    for start in starts:
        i = round(start * RATE_HZ)
        out[i : i + n_pulse] += pulse
    return np.round(out * 0.8 * level * 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> None:
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(samples.astype("<i2").tobytes())
    tmp.replace(path)  # a half-written file is never played


def tone_files(directory: Path | None = None) -> dict[tuple[str, bool], Path]:
    """(priority, soft) -> WAV file, generated on first use."""
    directory = directory or tone_dir()
    files: dict[tuple[str, bool], Path] = {}
    for priority in PATTERNS:
        for soft in (False, True):
            path = directory / f"alarm-{priority}{'-soft' if soft else ''}-v{VERSION}.wav"
            if not path.is_file():
                write_wav(path, burst(priority, SOFT_LEVEL if soft and priority != "high" else 1.0))
            files[(priority, soft)] = path
    return files


@dataclass(frozen=True)
class Backend:
    name: str  # "Qt Multimedia", "pw-play", ... or "" when there is no way to play sound
    command: tuple[str, ...] = ()


def find_backend(which: object = shutil.which) -> Backend:
    """Qt Multimedia when it imports, else the first player command on PATH, else none."""
    try:
        from PySide6 import QtMultimedia  # noqa: F401 - only whether it loads

        return Backend("Qt Multimedia")
    except ImportError:
        pass
    for command in PLAYER_COMMANDS:
        found = which(command[0])  # type: ignore[operator]
        if found:
            return Backend(command[0], (str(found), *command[1:]))
    return Backend("")


NO_SOUND_REMEDY = "Alarms show on screen only: install one of these and restart kapmonitor."
# What the alarm bar shows of it: one calm line; the cause and the remedy are its tooltip and the alarm log's.
NO_SOUND_HEADLINE = "No alarm sound on this computer"


def no_sound_message(problem: str) -> str:
    """The technical alarm's words: what is wrong, why, and what to do."""
    return f"No alarm sound: {problem}. {NO_SOUND_REMEDY}"


class TonePlayer:
    """Plays a priority's burst. ``therapy_room`` softens medium and low; high is always at full level."""

    def __init__(self, backend: Backend | None = None, directory: Path | None = None) -> None:
        self.backend = backend if backend is not None else find_backend()
        self.therapy_room = False
        self.problem: str | None = (
            None if self.backend.name else "no sound output found (Qt Multimedia, pw-play, paplay, aplay)"
        )
        self.files: dict[tuple[str, bool], Path] = {}
        self.played: list[tuple[str, bool]] = []  # (priority, soft) of each burst started, for the log and tests
        self._effects: dict[tuple[str, bool], object] = {}
        self._processes: list[subprocess.Popen[bytes]] = []
        if self.backend.name:
            try:
                self.files = tone_files(directory)
            except OSError as exc:
                self.problem = f"cannot write the alarm tones ({exc})"

    @property
    def available(self) -> bool:
        return self.problem is None

    def play(self, priority: str) -> bool:
        """Start one burst; False (and :attr:`problem` says why) when it cannot sound."""
        soft = self.therapy_room and priority != "high"
        if not self.available:
            return False
        key = (priority, soft)
        try:
            if self.backend.command:
                self._reap()
                self._processes.append(
                    subprocess.Popen(  # noqa: S603 - a fixed player command and our own file
                        [*self.backend.command, str(self.files[key])],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            else:
                self._effect(key).play()  # type: ignore[attr-defined]
        except OSError as exc:
            self.problem = f"{self.backend.name} failed ({exc})"
            log.error("alarm tone: %s", self.problem)
            return False
        self.played.append(key)
        return True

    def _effect(self, key: tuple[str, bool]) -> object:
        effect = self._effects.get(key)
        if effect is None:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QSoundEffect

            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(self.files[key])))
            effect.setVolume(1.0)
            self._effects[key] = effect
        return effect

    def _reap(self) -> None:
        self._processes = [p for p in self._processes if p.poll() is None]

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=2)
        self._processes.clear()


class ToneSchedule:
    """Which burst to start now: the highest audible priority, repeated at its interval, at once on a rise."""

    def __init__(self) -> None:
        self._last: tuple[str, float] | None = None  # (priority, time) of the last burst

    def due(self, priority: str | None, now_s: float) -> str | None:
        if priority is None:
            self._last = None
            return None
        last = self._last
        if last is None or last[0] != priority or now_s - last[1] >= REPEAT_S[priority]:
            self._last = (priority, now_s)
            return priority
        return None
