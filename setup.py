"""Packaging for weat_paper: all metadata lives in settings.ini (nbdev 2 layout)."""
from configparser import ConfigParser
from pathlib import Path
import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read(Path(__file__).parent / "settings.ini", encoding="utf-8")
c = cfg["DEFAULT"]

licenses = {"mit": ("MIT License", "OSI Approved :: MIT License")}
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable"]
py_versions = ["3.10", "3.11", "3.12", "3.13"]
lic = licenses[c["license"]]
readme = Path(__file__).parent / "README.md"

setuptools.setup(
    name=c["lib_name"],
    version=c["version"],
    description=c["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else c["description"],
    long_description_content_type="text/markdown",
    keywords=c["keywords"].split(),
    author=c["author"],
    author_email=c["author_email"],
    url=c["git_url"],
    license=lic[0],
    classifiers=[
        "Development Status :: " + statuses[int(c["status"]) - 1],
        "Intended Audience :: " + c["audience"],
        "License :: " + lic[1],
        "Natural Language :: " + c["language"],
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ] + [f"Programming Language :: Python :: {v}" for v in py_versions[py_versions.index(c["min_python"]):]],
    packages=setuptools.find_packages(include=[c["lib_name"], c["lib_name"] + ".*"]),
    include_package_data=True,
    package_data={c["lib_name"]: ["paper_tables/*.csv", "paper_tables/*.md", "fixtures/*.npz"]},
    install_requires=c["requirements"].split(),
    extras_require={"dev": c["dev_requirements"].split()},
    python_requires=">=" + c["min_python"],
    entry_points={
        "console_scripts": c["console_scripts"].split(),
        "nbdev": [f"{c['lib_path']}={c['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
