"""Crash-safe checkpoint folders: never a half-written checkpoint.

A checkpoint is a folder written under a temporary name, its files flushed to
disk, then renamed into place; a one-line pointer file naming the current
folder is then replaced atomically (`os.replace`). A crash at any moment
leaves the previous pointer and the folder it names intact; stale temporary
folders are removed on the next write.

    store = checkpoints.CheckpointStore("runs/x/checkpoints")
    path = store.write("ckpt-100", lambda folder: saver.save(sess, folder + "/model"))
    store.latest()          # -> "runs/x/checkpoints/ckpt-100"

JSON files are written the same way (`write_json`).
"""

import json
import os
import shutil

POINTER = "latest"


def _fsync_tree(folder):
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def write_json(path, obj):
    """Writes `obj` as JSON to `path` atomically (temp file, fsync, rename)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class CheckpointStore:
    """Checkpoint folders under `root`, the newest named by `root/<pointer>`.

    Args:
      root: folder holding the checkpoints.
      pointer: name of the pointer file.
      keep: number of complete checkpoints kept (the newest ones).
    """

    def __init__(self, root, pointer=POINTER, keep=1):
        self.root = root
        self.pointer = pointer
        self.keep = keep

    def latest(self):
        """Path of the current checkpoint folder, or None."""
        path = os.path.join(self.root, self.pointer)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as f:
            name = f.read().strip()
        folder = os.path.join(self.root, name)
        return folder if name and os.path.isdir(folder) else None

    def write(self, name, write_fn):
        """Runs `write_fn(tmp_folder)`, then publishes the folder as `name`.

        Returns:
          The final folder path. If `write_fn` raises, nothing is published
          and the previous checkpoint stays current.
        """
        os.makedirs(self.root, exist_ok=True)
        for entry in os.listdir(self.root):
            if entry.endswith(".tmp"):
                shutil.rmtree(os.path.join(self.root, entry), ignore_errors=True)
        base, n = name, 1
        while os.path.exists(os.path.join(self.root, name)):
            n += 1
            name = f"{base}-{n}"  # never overwrite a published folder
        tmp = os.path.join(self.root, f"{name}.tmp")
        final = os.path.join(self.root, name)
        os.makedirs(tmp)
        try:
            write_fn(tmp)
            _fsync_tree(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        os.replace(tmp, final)
        self._point(name)
        self._prune(name)
        return final

    def _point(self, name):
        path = os.path.join(self.root, self.pointer)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        history = os.path.join(self.root, f"{self.pointer}.history")
        names = []
        if os.path.isfile(history):
            with open(history, encoding="utf-8") as f:
                names = [n for n in f.read().split() if n != name]
        names.append(name)
        with open(f"{history}.tmp", "w", encoding="utf-8") as f:
            f.write("\n".join(names) + "\n")
        os.replace(f"{history}.tmp", history)

    def _prune(self, current):
        history = os.path.join(self.root, f"{self.pointer}.history")
        with open(history, encoding="utf-8") as f:
            names = f.read().split()
        kept = names[-self.keep:]
        for name in names[:-self.keep]:
            if name != current:
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
        with open(f"{history}.tmp", "w", encoding="utf-8") as f:
            f.write("\n".join(kept) + "\n")
        os.replace(f"{history}.tmp", history)
