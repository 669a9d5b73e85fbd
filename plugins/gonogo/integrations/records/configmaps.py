"""The Kubernetes record store: one ConfigMap per run record.

Chosen in the target file (``records: {store: kubernetes, namespace: NS}``) when
the jobs of a pipeline share no disk but all reach the cluster. Each record is
a ConfigMap ``gonogo-run-<id>`` holding the record as ``record.json``, labelled
so people can find them with kubectl as the store does::

    kubectl get cm -n gonogo-records -l gonogo.dev/release=v1.1.0,gonogo.dev/environment=staging

A label value must be at most 63 characters of a restricted alphabet; a value
that is not (a long release tag) is labelled by its digest instead, and the
record's own fields decide every match. Every request goes through the
product's Kubernetes client, so it has a timeout and gonogo's errors."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from gonogo.errors import ProbeError
from gonogo.integrations.kubernetes.client import KubeClient, status_of
from gonogo.model.records import RecordError, RunRecord, matches, newest_first, slug
from gonogo.model.records import from_json as record_from_json

DATA_KEY = "record.json"
PREFIX = "gonogo-run-"
LABEL_TARGET = "gonogo.dev/target"
LABEL_RELEASE = "gonogo.dev/release"
LABEL_ENVIRONMENT = "gonogo.dev/environment"
LABEL_KIND = "gonogo.dev/record"
STAGE_LABEL = "gonogo.dev/stage-{stage}"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(text: str) -> str:
    """``text`` when Kubernetes accepts it as a label value, else ``h-<digest>``."""
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    return "h-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def labels_of(record: RunRecord) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/managed-by": "gonogo",
        LABEL_KIND: "run",
        LABEL_TARGET: label_value(record.target),
        LABEL_RELEASE: label_value(record.release),
        LABEL_ENVIRONMENT: label_value(record.environment or "all"),
        "gonogo.dev/go": "true" if record.go else "false",
    }
    for stage in record.stages:
        labels[STAGE_LABEL.format(stage=slug(stage, 40))] = "true"
    return labels


class ConfigMapStore:
    """Run records as ConfigMaps in one namespace of the target's cluster."""

    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.where = f"ConfigMaps in namespace {namespace} of {kube.host}"

    def _configmap(self, record: RunRecord) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": (PREFIX + slug(record.id, 200))[:253],
                "namespace": self.namespace,
                "labels": labels_of(record),
                "annotations": {"gonogo.dev/finished": record.finished},
            },
            "data": {DATA_KEY: json.dumps(record.to_dict(), default=str)},
        }

    def put(self, record: RunRecord) -> str:
        body = self._configmap(record)
        path = f"/api/v1/namespaces/{self.namespace}/configmaps"
        name = body["metadata"]["name"]
        what = f"create configmap/{name} in {self.namespace}"
        try:
            self.kube.request("POST", path, body, what=what)
        except ProbeError as e:
            if status_of(e) != 404:
                raise ProbeError(f"cannot keep the run record: {e}") from e
            self._create_namespace()
            self.kube.request("POST", path, body, what=what)
        return f"configmap/{name} in namespace {self.namespace}"

    def _create_namespace(self) -> None:
        """The store's namespace, created on first use (409: someone was quicker)."""
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "gonogo"},
            },
        }
        try:
            self.kube.request("POST", "/api/v1/namespaces", body, what="create namespace")
        except ProbeError as e:
            if status_of(e) != 409:
                raise ProbeError(
                    f"the records namespace {self.namespace} does not exist and cannot be "
                    f"created ({e}); create it: kubectl create namespace {self.namespace}"
                ) from e

    def find(
        self, target: str, release: str, environment: str, stage: str | None = None
    ) -> list[RunRecord]:
        selector = {
            LABEL_KIND: "run",
            LABEL_TARGET: label_value(target),
            LABEL_RELEASE: label_value(release),
            LABEL_ENVIRONMENT: label_value(environment),
        }
        if stage is not None:
            selector[STAGE_LABEL.format(stage=slug(stage, 40))] = "true"
        items = self.kube.list_all(
            "configmaps",
            self.namespace,
            labelSelector=",".join(f"{k}={v}" for k, v in selector.items()),
        )
        found = []
        for item in items:
            try:
                name = (item.get("metadata") or {}).get("name", "?")
                text = (item.get("data") or {}).get(DATA_KEY, "")
                record = record_from_json(text, f"configmap/{name}")
            except RecordError:
                continue
            if matches(record, target, release, environment, stage):
                found.append(record)
        return newest_first(found)

    def close(self) -> None:
        self.kube.close()
