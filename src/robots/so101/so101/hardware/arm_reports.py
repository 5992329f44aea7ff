"""What the follower and the leader report of their arm: the connection message, the bus report's
values, one report per joint (servo state, communication failure, error bits)."""

from __future__ import annotations

from feetech.protocol import describe_error
from sim2real_hardware.reports import Level, Report
from so101.hardware.arm import ArmState, So101Arm

Problem = tuple[Level, str]


def connect(arm: So101Arm) -> str:
    """Connect the arm; the bus report's message while it stays up."""
    rewritten = arm.connect()
    note = " (servo calibration registers rewritten from the file)" if rewritten else ""
    return f"connected, {len(arm.config.ids)} servos{note}"


def bus_values(arm: So101Arm) -> dict[str, str]:
    cfg = arm.config
    return {"port": cfg.port, "baudrate": str(cfg.baudrate), "calibration": str(arm.calibration_file)}


def joint_problem(arm: So101Arm, state: ArmState | None, name: str) -> Problem | None:
    """What is wrong with a joint as last read (``state`` None: not connected)."""
    if state is None:
        return Level.ERROR, "not connected"
    if name in state.failures:
        return Level.ERROR, f"{state.failures[name]} from servo id {arm.bus.motors[name]}"
    bits = state.errors().get(name, 0)
    if bits:
        return Level.ERROR, f"servo reports {describe_error(bits)} error"
    return None


def joint_report(arm: So101Arm, state: ArmState | None, k: int, problem: Problem | None) -> Report:
    name, servo_id = arm.joint_names[k], arm.config.ids[k]
    values = {}
    reading = state.readings.get(name) if state else None
    if reading is not None:
        values = {"position_rad": f"{state.position[k]:.4f}", "position_steps": str(reading.position),
                  "goal_steps": str(reading.goal), "load_percent": f"{reading.load * 100:.1f}",
                  "current_ma": f"{reading.current_ma:.0f}", "voltage_v": f"{reading.voltage:.1f}",
                  "temperature_c": str(reading.temperature), "torque": "on" if reading.torque_enabled else "off",
                  "error_bits": str(reading.error | reading.status)}
    level, message = problem or (Level.OK, "ok")
    return Report(f"joint {name} (id {servo_id})", level, message, values)
