# The two commands: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-app
# Debian packages the tests and the demo need (installed only when missing): a compiler and
# headers for evdev (source-only on PyPI), Xvfb and Mesa for the Kivy window, Mosquitto, the fonts
# (Noto Sans CJK, WenQuanYi as its fallback, Font Awesome for icons).
DEBS   := python3-venv python3-dev gcc linux-libc-dev xvfb xauth mosquitto fonts-noto-cjk fonts-wqy-microhei fonts-font-awesome mtools dosfstools libgl1 libgl1-mesa-dri libegl1 libusb-1.0-0 systemd
export KIVY_NO_ARGS := 1

.PHONY: all venv debs catalogues translations test demo bench bench-ledger bench-drivers bench-ui bench-sync soak screenshots clean

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The tests need the test extras; the demo only the app (with its Kivy UI).
$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(DEMO_STAMP)

$(DEMO_STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[ui]'
	touch $@

venv: $(STAMP)

debs:
	@scripts/ensure-debs $(DEBS)

# Compile the UI's catalogues (.po -> .mo); the app compiles a stale one in memory, this saves it the time.
catalogues: venv
	$(VENV)/bin/pybabel -q compile -d kiosk/ui/locale -D kiosk

# After changing texts: extract every msgid from the code and kv files, merge into each language's .po
# (new ones empty, vanished ones dropped), compile. Then translate the empty entries in zh_CN.
translations: venv
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k N_ -k n_:1,2 --no-location --omit-header -o kiosk/ui/locale/kiosk.pot .
	$(VENV)/bin/pybabel -q update -i kiosk/ui/locale/kiosk.pot -d kiosk/ui/locale -D kiosk --ignore-obsolete --no-fuzzy-matching
	$(VENV)/bin/pybabel -q compile -d kiosk/ui/locale -D kiosk

test: debs venv catalogues
	$(PY) -m pytest

demo: debs $(DEMO_STAMP) catalogues
	$(PY) -m kiosk.demo --var var

bench: bench-ledger bench-drivers bench-ui bench-sync

bench-ledger: venv
	$(PY) bench/bench_ledger.py

bench-drivers: debs venv
	$(PY) bench/bench_drivers.py

bench-ui: debs venv
	$(PY) bench/bench_ui.py

bench-sync: debs venv
	$(PY) bench/bench_sync.py

soak: debs venv
	$(PY) -m pytest -q tests/sync/test_faults.py --soak

screenshots: debs venv catalogues
	$(PY) -m kiosk.ui.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) var *.egg-info
