#!/usr/bin/env python3
"""Convert the common LFWA distribution (MATLAB files) to the plain-text
layout `ablate` reads (docs/data.md, "LFWA").

    python3 scripts/lfwa-from-mat.py lfw_att_40.mat indices_train_test.mat ROOT

reads `label` (images x 40, values 0/1 or -1/1), `name` (a cell array of image
paths, often with backslashes), `AttrName` when present (columns are matched
to the CelebA names by it; without it CelebA order is assumed) and the 1-based
`indices_img_train` / `indices_img_test`, and writes ROOT/lfwa_attributes.txt,
ROOT/lfwa_train.txt and ROOT/lfwa_test.txt. The images go under ROOT/lfw/.

Both MAT formats occur: version 5 files need SciPy, version 7.3 (HDF5) files
need h5py. Neither ships with the project; install the one your copy needs,
e.g. `.venv/bin/pip install scipy` or `.venv/bin/pip install h5py`.
"""

import argparse
import os
import sys

CELEBA = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs "
    "Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows "
    "Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones "
    "Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin "
    "Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()


class ConversionError(Exception):
    pass


def is_hdf5(path):
    with open(path, "rb") as f:
        header = f.read(128)
        f.seek(512)
        return b"MATLAB 7.3" in header or f.read(8) == b"\x89HDF\r\n\x1a\n"


def need(module, path):
    try:
        return __import__(module)
    except ImportError:
        raise ConversionError(
            f"{path}: reading this MAT format needs the Python package '{module}': "
            f"pip install {module} (e.g. into .venv) and run again"
        )


def load(path):
    """The file's variables as {name: numbers (2-D list) or strings (list)}."""
    if not os.path.isfile(path):
        raise ConversionError(f"{path}: no such file")
    if is_hdf5(path):
        h5py = need("h5py", path)
        out = {}
        with h5py.File(path, "r") as f:
            for key, data in f.items():
                if key.startswith("#") or not isinstance(data, h5py.Dataset):
                    continue
                if data.dtype == h5py.ref_dtype:
                    # A cell array: each reference points at a char array
                    # stored as UTF-16 code units.
                    out[key] = [
                        "".join(chr(c) for c in f[ref][()].ravel())
                        for ref in data[()].ravel()
                    ]
                else:
                    # MATLAB is column-major: HDF5 holds the transpose.
                    out[key] = data[()].T.tolist()
        return out
    need("scipy", path)
    import scipy.io

    out = {}
    for key, value in scipy.io.loadmat(path).items():
        if key.startswith("__"):
            continue
        if value.dtype == object:
            out[key] = [str(cell.ravel()[0]) if cell.size else "" for cell in value.ravel()]
        else:
            out[key] = value.tolist()
    return out


def variable(variables, key, path):
    if key not in variables:
        raise ConversionError(
            f"{path}: no variable '{key}' (it has: {', '.join(sorted(variables)) or 'none'})"
        )
    return variables[key]


def flat(values):
    return [v for row in values for v in (row if isinstance(row, list) else [row])]


def convert(attributes_mat, splits_mat, root):
    attributes = load(attributes_mat)
    names = [n.replace("\\", "/") for n in variable(attributes, "name", attributes_mat)]
    labels = variable(attributes, "label", attributes_mat)
    if len(labels) != len(names) and labels and len(labels[0]) == len(names):
        labels = [list(column) for column in zip(*labels)]
    if len(labels) != len(names):
        raise ConversionError(
            f"{attributes_mat}: 'label' has {len(labels)} rows but 'name' has {len(names)} paths"
        )
    if "AttrName" in attributes:
        columns = [a.strip() for a in attributes["AttrName"]]
        unknown = sorted(set(columns) - set(CELEBA))
        if unknown or len(columns) != len(CELEBA):
            raise ConversionError(
                f"{attributes_mat}: 'AttrName' is not the 40 CelebA attributes "
                f"(unknown: {', '.join(unknown) or 'none'}; count {len(columns)})"
            )
    else:
        columns = CELEBA
    for row, values in enumerate(labels, start=1):
        if len(values) != len(columns):
            raise ConversionError(
                f"{attributes_mat}: 'label' row {row} has {len(values)} values, expected {len(columns)}"
            )
        bad = [v for v in values if v not in (0, 1, -1)]
        if bad:
            raise ConversionError(f"{attributes_mat}: 'label' row {row} holds {bad[0]}, not 0/1/-1")

    splits = load(splits_mat)
    lists = {}
    for key, file in (("indices_img_train", "lfwa_train.txt"), ("indices_img_test", "lfwa_test.txt")):
        lists[file] = []
        for index in flat(variable(splits, key, splits_mat)):
            if index != int(index) or not 1 <= index <= len(names):
                raise ConversionError(
                    f"{splits_mat}: '{key}' holds {index}, not an image number in 1..{len(names)}"
                )
            lists[file].append(names[int(index) - 1])

    # Everything is read and checked before anything is written.
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "lfwa_attributes.txt"), "w") as out:
        out.write(" ".join(columns) + "\n")
        for path, values in zip(names, labels):
            out.write(path + " " + " ".join("1" if v > 0 else "-1" for v in values) + "\n")
    for file, paths in lists.items():
        with open(os.path.join(root, file), "w") as out:
            out.writelines(path + "\n" for path in paths)
    return len(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("attributes", help="lfw_att_40.mat")
    parser.add_argument("splits", help="indices_train_test.mat")
    parser.add_argument("root", help="dataset root to write the text files into")
    args = parser.parse_args()
    try:
        count = convert(args.attributes, args.splits, args.root)
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"{count} images: wrote lfwa_attributes.txt, lfwa_train.txt, lfwa_test.txt to {args.root}")
    print(f"put the images under {os.path.join(args.root, 'lfw')}/ and run: ablate data check {args.root} --format lfwa")


if __name__ == "__main__":
    main()
