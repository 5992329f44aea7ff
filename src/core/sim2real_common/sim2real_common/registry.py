"""Robots, their scenes and tasks, and the project command's verbs, found through entry points.

Core packages never import a robot: a robot package declares itself in its ``setup.py``

    entry_points={"sim2real.robots": ["so101 = so101.registration:robot"],
                  "sim2real.commands": ["calibrate = so101.hardware.commands:add_calibrate"]}

and core looks it up here by robot, scene or task name. ``robot`` returns a ``Robot``; heavy
parts (task classes, experts) are named as ``"module:attribute"`` and imported only when used,
so listing robots stays cheap. A driver package adds ``sim2real.emulators`` entries the same way
(``sim2real emulate <device>``), and a robot its Gymnasium environments under ``sim2real.envs``
(entry name: the env id, value: the env class or factory; ``register_envs`` hands them to
Gymnasium, after which ``gymnasium.make("<id>")`` works anywhere: SB3, the trainer, a notebook).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

from sim2real_common.errors import UserError, did_you_mean

ROBOTS_GROUP = "sim2real.robots"
COMMANDS_GROUP = "sim2real.commands"
EMULATORS_GROUP = "sim2real.emulators"
ENVS_GROUP = "sim2real.envs"


class RegistryError(UserError):
    """A robot, scene or task name nothing registered, or a broken registration."""


@dataclass(frozen=True)
class Scene:
    """An MJCF scene and the task it runs."""

    name: str
    mjcf: Path  # absolute
    task: str  # a task of the same robot
    contract: str = ""  # the task's contract (config/contracts/<name>.yaml): features, task text, fps
    mesh_package: str | None = None  # Python package whose folder holds the meshes (not shipped here)
    mesh_subdir: str = ""


@dataclass(frozen=True)
class Task:
    """A task: ``build(model, params)`` makes its ``sim2real_sim.task.Task``; ``expert`` (optional)
    makes a scripted policy for it; both ``"module:attribute"``."""

    name: str
    build: str
    expert: str | None = None


@dataclass(frozen=True)
class Robot:
    name: str
    package: str  # the ROS package: share/<package>/ holds launch/ and config/
    config_dir: Path  # robot config, contracts, node parameters, graphs
    scenes: tuple[Scene, ...] = ()
    tasks: tuple[Task, ...] = ()
    robot_config: str = ""  # file in config_dir describing the robot (joints, limits, cameras)
    trainer_groups: str = ""  # the trainer's default action-groups file in config_dir ('': the robot config's groups)


def load_object(reference: str) -> Any:
    """``"package.module:attribute"`` -> the attribute (imported now)."""
    module, _, attribute = reference.partition(":")
    try:
        value: Any = importlib.import_module(module)
        for part in attribute.split(".") if attribute else ():
            value = getattr(value, part)
    except (ImportError, AttributeError) as err:
        raise RegistryError(f"registered object {reference!r} cannot be loaded: {err}") from err
    return value


@cache
def robots() -> dict[str, Robot]:
    """Every installed robot package's ``Robot``, by name."""
    found: dict[str, Robot] = {}
    for entry in importlib.metadata.entry_points(group=ROBOTS_GROUP):
        robot = entry.load()
        robot = robot() if callable(robot) else robot
        if not isinstance(robot, Robot):
            raise RegistryError(f"entry point {entry.name} = {entry.value} ({ROBOTS_GROUP}) gave "
                                f"{type(robot).__name__}, expected a sim2real_common.registry.Robot")
        found[robot.name] = robot
    return found


def robot(name: str) -> Robot:
    known = robots()
    if name not in known:
        raise RegistryError(f"unknown robot {name!r}{did_you_mean(name, list(known))}; "
                            f"installed robots: {', '.join(sorted(known)) or 'none'}")
    return known[name]


def scenes() -> dict[str, tuple[Robot, Scene]]:
    return {scene.name: (owner, scene) for owner in robots().values() for scene in owner.scenes}


def scene(name: str) -> tuple[Robot, Scene]:
    """The scene of this name and the robot it belongs to."""
    known = scenes()
    if name not in known:
        raise RegistryError(f"unknown scene {name!r}{did_you_mean(name, list(known))}; "
                            f"registered scenes: {', '.join(sorted(known)) or 'none'}")
    return known[name]


def task_of_scene(name: str) -> Task:
    owner, found = scene(name)
    for task in owner.tasks:
        if task.name == found.task:
            return task
    raise RegistryError(f"scene {name!r} of robot {owner.name!r} runs task {found.task!r}, which the robot "
                        f"does not register (its tasks: {', '.join(t.name for t in owner.tasks) or 'none'})")


def expert_scenes() -> list[str]:
    """Scenes whose task registers a scripted expert."""
    return sorted(name for name in scenes() if task_of_scene(name).expert)


def expert_for(scene_name: str | None) -> Callable[..., Any]:
    """The expert factory (``factory(scene=...)`` -> a policy) of a scene's task; without a scene,
    that of the only scene with an expert."""
    scene_name = scene_name or default_expert_scene()
    task = task_of_scene(scene_name)
    if not task.expert:
        raise RegistryError(f"task {task.name!r} of scene {scene_name!r} has no scripted expert; scenes with "
                            f"one: {', '.join(expert_scenes()) or 'none'}")
    factory = load_object(task.expert)
    return lambda **options: factory(scene=scene_name, **options)


def default_scene(fits: Callable[[str], bool] | None = None, what: str = "") -> str:
    """The scene to use when none is named: the only registered one, else the only one ``fits``
    accepts (``what`` says what it looks for, for the error: "with a scripted expert")."""
    names = sorted(scenes())
    if len(names) == 1:
        return names[0]
    chosen = [name for name in names if fits(name)] if fits is not None else names
    if len(chosen) != 1:
        detail = f"; {what}: {', '.join(chosen) or 'none'}" if fits is not None else ""
        raise RegistryError(f"name a scene: {len(names)} are registered ({', '.join(names) or 'none'}){detail}")
    return chosen[0]


def default_expert_scene() -> str:
    """The scene to use when none is named and a scripted expert is needed."""
    return default_scene(lambda name: bool(task_of_scene(name).expert), "with a scripted expert")


def config_dirs() -> list[Path]:
    """The config folders of every installed robot (file names there carry the robot's name)."""
    return [owner.config_dir for _, owner in sorted(robots().items())]


def launch_packages() -> dict[str, Robot]:
    """ROS packages with launch files (the graphs they read are in ``config/graphs/``), by package name."""
    return {owner.package: owner for owner in robots().values() if (owner.config_dir / "graphs").is_dir()}


def command_adders(group: str = COMMANDS_GROUP) -> dict[str, Callable[..., None]]:
    """``add_<verb>(subparsers)`` functions registered for the project command, by name."""
    return {entry.name: entry.load() for entry in importlib.metadata.entry_points(group=group)}


def env_ids() -> dict[str, str]:
    """Gymnasium env ids the installed robots register, with their entry points (``module:Class``)."""
    return {entry.name: entry.value for entry in importlib.metadata.entry_points(group=ENVS_GROUP)}


def register_envs() -> list[str]:
    """Register every robot's env ids with Gymnasium (once; the classes import on ``make``)."""
    import gymnasium

    ids = env_ids()
    for env_id, entry_point in ids.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)
    return sorted(ids)
