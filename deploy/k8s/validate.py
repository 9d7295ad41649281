"""Offline check of the Kubernetes manifests (used by scripts/validate-deploy.sh).

    kubectl kustomize deploy/k8s/base | uv run python deploy/k8s/validate.py -
    uv run python deploy/k8s/validate.py deploy/k8s/base      # no kubectl: the kustomization's own files

Core kinds are validated strictly against the Kubernetes JSON schemas bundled in kubernetes-validate.
KEDA kinds have no bundled schema: they get a structural check (fields, targets, queues in
deploy/rabbitmq/definitions.json, auth). Cross-checks: config references resolve, secret references
name the operator's Secrets (shape in deploy/k8s/secret.example.yaml; no Secret may be in the bundle),
every Deployment has /readyz and /healthz probes, resources and a PodDisruptionBudget, and a
default-deny NetworkPolicy is there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

K8S_VERSION = "1.30.0"
DEFINITIONS = Path(__file__).resolve().parents[1] / "rabbitmq" / "definitions.json"
# The Secrets the operator creates (never in the bundle); their keys are documented in this file.
OPERATOR_SECRETS = Path(__file__).resolve().parent / "secret.example.yaml"


def load(source: str) -> list[dict[str, Any]]:
    """Documents from stdin ("-"), a YAML file, or a kustomization directory's resources (recursively)."""
    if source == "-":
        return [d for d in yaml.safe_load_all(sys.stdin) if d]
    path = Path(source)
    if path.is_file():
        return [d for d in yaml.safe_load_all(path.read_text()) if d]
    kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        docs.extend(load(str(path / resource)))
    for generator in kustomization.get("configMapGenerator", []):
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}})
    return docs


def base_name(name: str) -> str:
    """Name without kustomize's hash suffix ("flowpilot-config-ggbkhm9k8t" -> "flowpilot-config")."""
    head, _, tail = name.rpartition("-")
    return head if head and len(tail) == 10 and tail.isalnum() else name


def check_keda(doc: dict[str, Any], names: dict[str, set[str]], secrets: dict[str, set[str]]) -> list[str]:
    kind, name, spec = doc["kind"], doc["metadata"]["name"], doc.get("spec") or {}
    errors: list[str] = []
    if kind == "TriggerAuthentication":
        refs = spec.get("secretTargetRef") or []
        if not refs:
            errors.append("needs secretTargetRef")
        for ref in refs:
            if not {"parameter", "name", "key"} <= ref.keys():
                errors.append(f"secretTargetRef {ref} needs parameter, name, key")
            elif ref["key"] not in secrets.get(ref["name"], set()):
                errors.append(f"secret {ref['name']} has no key {ref['key']}")
        return errors
    queues = {q["name"] for q in json.loads(DEFINITIONS.read_text())["queues"]}
    if spec.get("scaleTargetRef", {}).get("name") not in names.get("Deployment", set()):
        errors.append(f"scaleTargetRef {spec.get('scaleTargetRef')} is no Deployment here")
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        errors.append("minReplicaCount/maxReplicaCount must be integers with min <= max")
    triggers = spec.get("triggers") or []
    if not triggers:
        errors.append("no triggers")
    for trigger in triggers:
        meta = trigger.get("metadata") or {}
        if trigger.get("type") != "rabbitmq":
            errors.append(f"unexpected trigger type {trigger.get('type')}")
        if meta.get("queueName") not in queues:
            errors.append(f"queue {meta.get('queueName')} is not in {DEFINITIONS.name}")
        if meta.get("mode") not in {"QueueLength", "MessageRate"} or not str(meta.get("value", "")).isdigit():
            errors.append(f"trigger on {meta.get('queueName')} needs mode QueueLength|MessageRate, value")
        if trigger.get("authenticationRef", {}).get("name") not in names.get("TriggerAuthentication", set()):
            errors.append(
                f"trigger on {meta.get('queueName')}: authenticationRef is no TriggerAuthentication here"
            )
    if name != spec.get("scaleTargetRef", {}).get("name"):
        errors.append("name the ScaledObject after its Deployment")
    return errors


def check_deployment(doc: dict[str, Any], names: dict[str, set[str]], pdb_targets: set[str]) -> list[str]:
    errors: list[str] = []
    name = doc["metadata"]["name"]
    pod = doc["spec"]["template"]["spec"]
    for container in pod["containers"]:
        for source in container.get("envFrom", []):
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if key in source and base_name(source[key]["name"]) not in names.get(kind, set()):
                    errors.append(f"{key} {source[key]['name']} does not exist")
        if "limits" not in container.get("resources", {}) or "requests" not in container["resources"]:
            errors.append(f"container {container['name']} needs resource requests and limits")
        if doc["kind"] != "Deployment":
            continue
        for probe in ("readinessProbe", "livenessProbe"):
            if probe not in container:
                errors.append(f"container {container['name']} has no {probe}")
        # The services' image (registry/flowpilot:tag) serves /readyz and /healthz; the gateway has its own.
        if container.get("image", "").split(":")[0].rsplit("/", 1)[-1] == "flowpilot":
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                    errors.append(f"{probe} must GET {path}")
    for volume in pod.get("volumes", []):
        if "configMap" in volume and base_name(volume["configMap"]["name"]) not in names.get(
            "ConfigMap", set()
        ):
            errors.append(f"volume ConfigMap {volume['configMap']['name']} does not exist")
    if doc["kind"] == "Deployment" and name not in pdb_targets:
        errors.append("no PodDisruptionBudget selects it")
    return errors


def main() -> int:
    docs = load(sys.argv[1] if len(sys.argv) > 1 else "-")
    names: dict[str, set[str]] = {}
    secrets: dict[str, set[str]] = {}
    failures = 0
    for doc in docs:
        names.setdefault(doc["kind"], set()).add(base_name(doc["metadata"]["name"]))
        if doc["kind"] == "Secret":
            print(f"FAIL Secret/{doc['metadata']['name']}: secrets come from the operator, never the repo")
            failures += 1
    for doc in yaml.safe_load_all(OPERATOR_SECRETS.read_text()):
        if doc and doc["kind"] == "Secret":
            names.setdefault("Secret", set()).add(doc["metadata"]["name"])
            secrets[doc["metadata"]["name"]] = set((doc.get("stringData") or {}) | (doc.get("data") or {}))
    pdb_targets = {
        d["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name", "")
        for d in docs
        if d["kind"] == "PodDisruptionBudget"
    }
    for doc in docs:
        label = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["apiVersion"].startswith("keda.sh/"):
            errors = check_keda(doc, names, secrets)
        else:
            errors = []
            try:
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"schema: {exc.message} at {'/'.join(map(str, exc.path))}")
            if doc["kind"] in ("Deployment", "Job"):
                errors += check_deployment(doc, names, pdb_targets)
        for error in errors:
            print(f"FAIL {label}: {error}")
        failures += bool(errors)
        if not errors:
            print(f"ok   {label}")
    required = {"Deployment": 5, "Service": 5, "PodDisruptionBudget": 5, "ScaledObject": 3, "Job": 1}
    for kind, count in required.items():
        if len(names.get(kind, set())) < count:
            print(f"FAIL expected at least {count} {kind}, found {len(names.get(kind, set()))}")
            failures += 1
    if "handoff-api" not in {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }:
        print("FAIL no HorizontalPodAutoscaler for handoff-api")
        failures += 1
    if not any(
        d["kind"] == "NetworkPolicy"
        and not d["spec"].get("podSelector")
        and {"Ingress", "Egress"} <= set(d["spec"].get("policyTypes", []))
        and not d["spec"].get("ingress")
        and not d["spec"].get("egress")
        for d in docs
    ):
        print("FAIL no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
        failures += 1
    consumer_queues = {
        q["name"]
        for q in json.loads(DEFINITIONS.read_text())["queues"]
        if "x-dead-letter-exchange" in q["arguments"]
    }
    scaled_queues = {
        t.get("metadata", {}).get("queueName")
        for d in docs
        if d["kind"] == "ScaledObject"
        for t in d["spec"].get("triggers", [])
    }
    # Every worker service scales on its queue's length (handoff-api, which consumes none, on CPU).
    if missing := sorted(consumer_queues - scaled_queues):
        print(f"FAIL no ScaledObject scales on {', '.join(missing)}")
        failures += 1
    print(f"{len(docs)} manifests checked against Kubernetes {K8S_VERSION}, {failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
