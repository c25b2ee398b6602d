"""What an OBX's codes mean to kapmonitor: IEEE 11073 MDC observation codes to metrics, OBX-6 units (MDC
dimension codes or UCUM) to a conversion into the metric's unit, and vendor code tables read from
``resources/hl7_vendors/*.toml`` (data, one file per vendor).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kapmonitor.core.metrics import MMHG_PER_KPA, unit_of
from kapmonitor.core.paths import resources_dir

log = logging.getLogger(__name__)

# MDC observation code -> metric (protocols.md section 15: monitors use either NIBP family).
MDC_METRICS: dict[int, str] = {
    150456: "spo2",
    149530: "pulse_rate",
    149522: "pulse_rate",
    149546: "pulse_rate",
    147842: "heart_rate",
    150488: "perfusion_index",
    150021: "nibp_systolic",
    150022: "nibp_diastolic",
    150023: "nibp_mean",
    150301: "nibp_systolic",
    150302: "nibp_diastolic",
    150303: "nibp_mean",
    151562: "resp_rate",
    151578: "resp_rate",
    151658: "resp_rate",
    150344: "temperature",
    188496: "temperature",
    150364: "temperature",  # MDC_TEMP_BODY
    188500: "temperature",  # MDC_TEMP_ORAL
    188420: "temperature",  # MDC_TEMP_TYMP
    151712: "etco2",
    150452: "pleth",
}
MDC_NAMES: dict[str, str] = {
    "MDC_PULS_OXIM_SAT_O2": "spo2",
    "MDC_PULS_OXIM_PULS_RATE": "pulse_rate",
    "MDC_PULS_RATE": "pulse_rate",
    "MDC_PULS_RATE_NON_INV": "pulse_rate",
    "MDC_ECG_HEART_RATE": "heart_rate",
    "MDC_BLD_PERF_INDEX": "perfusion_index",
    "MDC_PRESS_BLD_NONINV_SYS": "nibp_systolic",
    "MDC_PRESS_BLD_NONINV_DIA": "nibp_diastolic",
    "MDC_PRESS_BLD_NONINV_MEAN": "nibp_mean",
    "MDC_PRESS_CUFF_SYS": "nibp_systolic",
    "MDC_PRESS_CUFF_DIA": "nibp_diastolic",
    "MDC_PRESS_CUFF_MEAN": "nibp_mean",
    "MDC_RESP_RATE": "resp_rate",
    "MDC_TTHOR_RESP_RATE": "resp_rate",
    "MDC_PULS_OXIM_PLETH_RESP_RATE": "resp_rate",
    "MDC_TEMP": "temperature",
    "MDC_TEMP_AXIL": "temperature",
    "MDC_TEMP_BODY": "temperature",
    "MDC_TEMP_ORAL": "temperature",
    "MDC_TEMP_TYMP": "temperature",
    "MDC_CONC_AWAY_CO2_EXP": "etco2",
    "MDC_AWAY_CO2_ET": "etco2",
    "MDC_PULS_OXIM_PLETH": "pleth",
}

# Attribute OBX that give a waveform's sample period or rate (IHE PCD Waveform Content Module).
SAMPLE_PERIOD_NAMES = frozenset({"MDC_ATTR_TIME_PD_SAMP"})
SAMPLE_PERIOD_CODES = frozenset({67981})  # partition 1 (object) x 65536 + term 2445
SAMPLE_RATE_NAMES = frozenset({"MDC_ATTR_SAMP_RATE", "MDC_ATTR_SAMPLE_RATE"})

# A value outside these is no measurement of that metric (a placeholder, a sentinel such as -1 or 999):
# named limits, as Home Assistant's parsers keep them.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "spo2": (0.0, 100.0),
    "pulse_rate": (0.0, 350.0),
    "heart_rate": (0.0, 350.0),
    "perfusion_index": (0.0, 100.0),
    "nibp_systolic": (0.0, 350.0),
    "nibp_diastolic": (0.0, 300.0),
    "nibp_mean": (0.0, 320.0),
    "resp_rate": (0.0, 150.0),
    "temperature": (15.0, 46.0),
    "etco2": (0.0, 150.0),
}


@dataclass(frozen=True)
class UnitConversion:
    """A unit as sent, and how its values become the metric's unit."""

    unit: str
    convert: Callable[[float], float]


def _same(v: float) -> float:
    return v


def _kpa(v: float) -> float:
    return v * MMHG_PER_KPA


def _fahrenheit(v: float) -> float:
    return (v - 32.0) * 5.0 / 9.0


# Every way we accept a unit (MDC dimension code, MDC name, UCUM, and the plain words some senders use) -> the
# kapmonitor unit it is a variant of and the conversion into it.
_UNITS: dict[str, UnitConversion] = {}


def _unit(target: str, convert: Callable[[float], float], *spellings: str) -> None:
    for s in spellings:
        _UNITS[s.lower()] = UnitConversion(target, convert)


_unit("%", _same, "262688", "MDC_DIM_PERCENT", "%")
_unit("bpm", _same, "264864", "MDC_DIM_BEAT_PER_MIN", "/min", "{beats}/min", "{beat}/min", "bpm", "1/min")
_unit("/min", _same, "264928", "MDC_DIM_RESP_PER_MIN", "{breaths}/min", "{breath}/min", "{resp}/min", "rpm", "brpm")
_unit("mmHg", _same, "266016", "MDC_DIM_MMHG", "mm[Hg]", "mmHg")
_unit("mmHg", _kpa, "268035", "MDC_DIM_KILO_PA", "kPa")
_unit("°C", _same, "268192", "MDC_DIM_DEGC", "Cel", "degC", "°C", "C")
_unit("°C", _fahrenheit, "266560", "MDC_DIM_FAHR", "[degF]", "degF", "°F", "F")
_unit("", _same, "262656", "MDC_DIM_DIMLESS", "1", "{dimless}")

# Units the same number may come in for a metric: a per-minute rate is a rate whether it says beats or breaths.
_COMPATIBLE: dict[str, frozenset[str]] = {
    "bpm": frozenset({"bpm", "/min"}),
    "/min": frozenset({"bpm", "/min"}),
}


def convert_unit(metric: str, units: tuple[str, ...]) -> UnitConversion | None:
    """How a value sent with OBX-6 ``units`` (its code, name, ...; empty: none sent) becomes ``metric``'s unit.

    None: the unit is not one that metric can be in (SpO2 in mmHg), or not one we know.
    """
    target = unit_of(metric)
    spelled = [u for u in units if u]
    if not spelled:
        return UnitConversion(target, _same)  # monitors that leave OBX-6 empty send the metric's usual unit
    for spelling in spelled:
        found = _UNITS.get(spelling.lower())
        if found is None:
            continue
        if found.unit == target or found.unit in _COMPATIBLE.get(target, frozenset()):
            return UnitConversion(target, found.convert)
        return None
    return None


def mdc_metric(code: str, name: str) -> str | None:
    if code.isdigit() and (metric := MDC_METRICS.get(int(code))):
        return metric
    return MDC_NAMES.get(name.upper())


# ---- vendor tables -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorCode:
    metric: str
    unit: str | None  # the unit the vendor sends it in when OBX-6 is empty (None: the metric's)
    rate_hz: float | None = None  # waveforms: the vendor's fixed sample rate


@dataclass(frozen=True)
class VendorTable:
    """One vendor's own codes (a ``99``-prefixed coding system in OBX-3) and its habits."""

    name: str
    title: str
    systems: frozenset[str]  # OBX-3 coding systems that are this vendor's
    codes: dict[tuple[str, str], VendorCode]  # (system, code) -> metric
    demo_markers: frozenset[str]  # words in MSH-3, OBX-17 or OBX-5 of a status OBX that mean demo mode
    sentinels: frozenset[float]  # values the vendor sends for "no value"


class VendorTableError(ValueError):
    pass


def _load_table(path: Path) -> VendorTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VendorTableError(f"{path.name}: {exc}") from exc
    vendor = data.get("vendor", {})
    systems = frozenset(str(s).upper() for s in vendor.get("coding_systems", []))
    codes: dict[tuple[str, str], VendorCode] = {}
    for n, entry in enumerate(data.get("code", []), 1):
        try:
            system = str(entry.get("system") or next(iter(systems))).upper()
            codes[(system, str(entry["code"]))] = VendorCode(
                str(entry["metric"]), entry.get("unit"), float(entry["rate_hz"]) if "rate_hz" in entry else None
            )
        except (KeyError, StopIteration, TypeError, ValueError) as exc:
            raise VendorTableError(f"{path.name}: code entry {n} needs system, code and metric ({exc})") from exc
    return VendorTable(
        name=path.stem,
        title=str(vendor.get("title", path.stem)),
        systems=systems,
        codes=codes,
        demo_markers=frozenset(str(m).upper() for m in vendor.get("demo_markers", [])),
        sentinels=frozenset(float(v) for v in vendor.get("sentinels", [])),
    )


@cache
def vendor_tables(folder: Path | None = None) -> tuple[VendorTable, ...]:
    """Every table in ``resources/hl7_vendors``; a table that cannot be read is logged and left out."""
    folder = folder or resources_dir() / "hl7_vendors"
    tables = []
    for path in sorted(folder.glob("*.toml")):
        try:
            tables.append(_load_table(path))
        except VendorTableError as exc:
            log.error("HL7 vendor code table not used: %s", exc)
    return tuple(tables)


@cache
def vendor_codes() -> dict[tuple[str, str], VendorCode]:
    return {key: code for table in vendor_tables() for key, code in table.codes.items()}


@cache
def demo_markers() -> frozenset[str]:
    words = {"DEMO", "SIMULATION", "SIMULATED", "DEMONSTRATION"}
    for table in vendor_tables():
        words |= table.demo_markers
    return frozenset(words)


@cache
def vendor_sentinels() -> dict[str, frozenset[float]]:
    """Coding system -> the values its vendor sends for "no value"."""
    return {system: table.sentinels for table in vendor_tables() for system in table.systems if table.sentinels}
