#!/usr/bin/env python3
"""A drag source for the end-to-end test: a small GTK window whose button, when dragged with the mouse
(xdotool), offers the given paths as `text/uri-list` over XDND, as a file manager would.

Usage: dragsrc.py X Y PATH...   Prints "ready" once the window is on screen; exits after the drag ends.
"""
import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402


def main() -> None:
    x, y = int(sys.argv[1]), int(sys.argv[2])
    uris = [Path(p).resolve().as_uri() for p in sys.argv[3:]]

    win = Gtk.Window(title="sift-e2e-drag-source")
    win.set_default_size(80, 60)
    win.move(x, y)
    button = Gtk.Button(label="drag me")
    button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
    button.drag_source_add_uri_targets()
    button.connect("drag-data-get", lambda _w, _ctx, data, _info, _time: data.set_uris(uris))
    button.connect("drag-end", lambda *_: GLib.timeout_add(500, Gtk.main_quit))
    win.add(button)
    win.connect("destroy", Gtk.main_quit)
    win.connect("map-event", lambda *_: print("ready", flush=True))
    win.show_all()
    # Never outlive the test.
    GLib.timeout_add_seconds(60, Gtk.main_quit)
    Gtk.main()


if __name__ == "__main__":
    main()
