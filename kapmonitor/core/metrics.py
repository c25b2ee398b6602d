"""The metrics kapmonitor records, their normalised units, and their export codes (IEEE 11073 MDC, LOINC)."""

from __future__ import annotations

from dataclasses import dataclass

MMHG_PER_KPA = 7.50062


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    label: str
    mdc_code: int | None
    mdc_name: str | None
    loinc: tuple[str, ...]
    ucum: str | None
    waveform: bool = False


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("spo2", "%", "SpO\u2082", 150456, "MDC_PULS_OXIM_SAT_O2", ("59408-5", "2708-6"), "%"),
        MetricInfo("pulse_rate", "bpm", "Pulse", 149530, "MDC_PULS_OXIM_PULS_RATE", ("8867-4",), "/min"),
        MetricInfo("heart_rate", "bpm", "HR", 147842, "MDC_ECG_HEART_RATE", ("8867-4",), "/min"),
        MetricInfo("nibp_systolic", "mmHg", "Systolic", 150021, "MDC_PRESS_BLD_NONINV_SYS", ("8480-6",), "mm[Hg]"),
        MetricInfo("nibp_diastolic", "mmHg", "Diastolic", 150022, "MDC_PRESS_BLD_NONINV_DIA", ("8462-4",), "mm[Hg]"),
        MetricInfo("nibp_mean", "mmHg", "Mean", 150023, "MDC_PRESS_BLD_NONINV_MEAN", ("8478-0",), "mm[Hg]"),
        MetricInfo("cuff_pressure", "mmHg", "Cuff", 150020, "MDC_PRESS_BLD_NONINV", (), "mm[Hg]"),
        MetricInfo("perfusion_index", "%", "PI", 150488, "MDC_BLD_PERF_INDEX", ("61006-3",), "%"),
        MetricInfo("rr_interval", "s", "RR", 147240, "MDC_ECG_TIME_PD_RR_GL", (), "s"),
        MetricInfo("resp_rate", "/min", "Resp", 151562, "MDC_RESP_RATE", ("9279-1",), "/min"),
        MetricInfo("temperature", "°C", "Temp", 150344, "MDC_TEMP", ("8310-5",), "Cel"),
        MetricInfo("etco2", "mmHg", "EtCO\u2082", 151712, "MDC_CONC_AWAY_CO2_EXP", ("19889-5",), "mm[Hg]"),
        MetricInfo("pleth", "", "Pleth", 150452, "MDC_PULS_OXIM_PLETH", (), None, waveform=True),
    )
}

# Quality flags a reading may carry. Devices may add their own (for example "smartpoint").
FLAGS: frozenset[str] = frozenset(
    {
        "sensor_off",
        "artifact",
        "out_of_track",
        "searching",
        "low_perfusion",
        "low_signal",
        "low_battery",
        "questionable",
        "invalid",
        "stored",
        "body_movement",
        "cuff_loose",
        "irregular_pulse",
        "improper_position",
    }
)

NIBP_PANEL_LOINC = "85354-9"


def metric_info(name: str) -> MetricInfo:
    """The vocabulary entry for a metric; unknown names get a unit-less entry rather than an error."""
    info = METRICS.get(name)
    if info is None:
        return MetricInfo(name, "", name, None, None, (), None)
    return info


def unit_of(name: str) -> str:
    return metric_info(name).unit


def kpa_to_mmhg(kpa: float) -> float:
    return kpa * MMHG_PER_KPA
