"""Stand-in for Pulumi's Python language host (pulumi-language-python), for the end-to-end scenarios only.

The real host's Go module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served by the
Go module proxy at any version, so it cannot be built here (docs/e2e.md). This host does what the real one does for
`pulumi preview/up/destroy` and for policy packs, no more:

- Run: starts ``python -u pulumi-language-python-exec --monitor … --engine … --project … --stack … --pwd …
  --dry_run … --parallel … [--organization …] [--root_directory …] <entry point>`` in the project's virtualenv
  (``runtime.options.virtualenv``, activated: VIRTUAL_ENV and PATH), with PULUMI_CONFIG and
  PULUMI_CONFIG_SECRET_KEYS as JSON, stdout/stderr passed through; exit code 32 means "the program already
  reported its error" (bail), any other non-zero code is "program exited with non-zero exit code: N". The exec
  script is the real one, from github.com/pulumi/pulumi/sdk/v3 at the pinned SDK's version.
- RunPlugin (policy packs): ``python <program dir> <args>`` in the virtualenv, output streamed back.
- GetRequiredPackages/GetRequiredPlugins: none. The engine loads the providers on demand at the versions the SDKs
  ask for, from the project's ``plugins:`` section (the real host lists the venv's pulumi-plugin.json packages so
  the CLI can download missing plugins, which cannot happen here).
- GetPluginInfo, About, GetProgramDependencies (pip list), InstallDependencies (nothing to do: the venv exists).

Usage (as the CLI starts a language plugin): langhost.py ENGINE_ADDRESS; prints its port on stdout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

BAIL_EXIT_CODE = 32
EXEC = Path(os.environ.get("E2E_LANGHOST_EXEC", Path(__file__).resolve().with_name("pulumi-language-python-exec")))
VERSION = os.environ.get("E2E_LANGHOST_VERSION", "0.0.0-e2e")


def _options(info: language_pb2.ProgramInfo) -> dict:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(info.options) if info.HasField("options") else {}


def _virtualenv(info: language_pb2.ProgramInfo) -> Path | None:
    venv = _options(info).get("virtualenv")
    if not venv:
        return None
    path = Path(venv)
    return path if path.is_absolute() else Path(info.root_directory) / path


def _env(base: dict[str, str], venv: Path | None) -> dict[str, str]:
    env = dict(base)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
    return env


def _python(venv: Path | None) -> str:
    if venv is None:
        return sys.executable
    python = venv / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"The 'virtualenv' option in Pulumi.yaml is set to {venv}, but it does not exist")
    return str(python)


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine: str) -> None:
        self.engine = engine

    def Handshake(self, request, context):
        self.engine = request.engine_address or self.engine
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPlugins(self, request, context):
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request, context):
        return language_pb2.GetRequiredPackagesResponse()

    def InstallDependencies(self, request, context):
        yield language_pb2.InstallDependenciesResponse(stdout=b"dependencies: the e2e virtualenv is used as it is\n")

    def About(self, request, context):
        return language_pb2.AboutResponse(executable=sys.executable, version=sys.version.split()[0])

    def GetProgramDependencies(self, request, context):
        venv = _virtualenv(request.info)
        out = subprocess.run(
            [_python(venv), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
        ).stdout
        deps = [language_pb2.DependencyInfo(name=d["name"], version=d["version"]) for d in json.loads(out)]
        return language_pb2.GetProgramDependenciesResponse(dependencies=deps)

    def Run(self, request, context):
        info = request.info
        venv = _virtualenv(info)
        args = [_python(venv), "-u", str(EXEC)]

        def arg(key: str, value: str) -> None:
            if value:
                args.extend([f"--{key}", value])

        arg("monitor", request.monitor_address)
        arg("engine", self.engine)
        arg("project", request.project)
        arg("stack", request.stack)
        arg("pwd", request.pwd)
        arg("dry_run", "true" if request.dryRun else "false")
        arg("parallel", str(request.parallel))
        arg("organization", request.organization)
        arg("root_directory", info.root_directory)
        args.append(info.entry_point or ".")
        args.extend(request.args)
        env = _env(dict(os.environ), venv)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        try:
            code = subprocess.run(args, env=env, cwd=request.pwd or None, check=False).returncode
        except OSError as error:
            return language_pb2.RunResponse(
                error=f"problem executing program (could not run language executor): {error}"
            )
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        if code == 0:
            return language_pb2.RunResponse()
        if code == BAIL_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        if code < 0:
            return language_pb2.RunResponse(error=f"program exited unexpectedly: signal {-code}")
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")

    def RunPlugin(self, request, context):
        venv = _virtualenv(request.info)
        env = dict(item.split("=", 1) for item in request.env if "=" in item) if request.env else dict(os.environ)
        # The plugin announces its port on stdout (pulumi_policy writes it without a flush): unbuffered, so that
        # the engine reads it now and not when the buffer fills (an assumption of this stand-in, docs/e2e.md).
        env["PYTHONUNBUFFERED"] = "1"
        proc = subprocess.Popen(
            [_python(venv), request.info.program_directory, *request.args],
            cwd=request.pwd or None,
            env=_env(env, venv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # The engine ends a plugin by cancelling this call.
        context.add_callback(lambda: proc.poll() is None and proc.terminate())
        chunks: list[language_pb2.RunPluginResponse] = []
        lock = threading.Condition()
        open_streams = [2]

        def pump(stream, field: str) -> None:
            for chunk in iter(lambda: stream.read1(65536), b""):
                with lock:
                    chunks.append(language_pb2.RunPluginResponse(**{field: chunk}))
                    lock.notify()
            with lock:
                open_streams[0] -= 1
                lock.notify()

        threads = [
            threading.Thread(target=pump, args=(proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, "stderr"), daemon=True),
        ]
        for t in threads:
            t.start()
        while True:
            with lock:
                while not chunks and open_streams[0]:
                    lock.wait()
                pending, chunks[:] = list(chunks), []
                done = not open_streams[0]
            yield from pending
            if done and not pending:
                break
        code = proc.wait()
        if code:
            yield language_pb2.RunPluginResponse(exitcode=code)

    def Cancel(self, request, context):
        return empty_pb2.Empty()


def main() -> None:
    engine = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(engine), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The engine stops plugins with SIGINT/SIGTERM: stop quietly, as the real plugins do; and stop when the engine
    # is gone without saying so (killed), as the real plugins' health check of the engine does.
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    parent = os.getppid()

    def watch_engine() -> None:
        while os.getppid() == parent:
            time.sleep(2)
        server.stop(0)

    threading.Thread(target=watch_engine, daemon=True).start()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)


if __name__ == "__main__":
    main()
