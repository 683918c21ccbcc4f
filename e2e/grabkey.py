#!/usr/bin/env python3
"""Holds a global key grab, as another app's shortcut would, until killed: grabkey.py KEYSYM MODIFIER_MASK.
Prints "ready" once the X server has granted it. (Modifier masks: Shift 1, Control 4, Mod1/Alt 8, Mod4/Super 64.)
"""
import ctypes
import ctypes.util
import signal
import sys

x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XDefaultRootWindow.restype = ctypes.c_ulong
x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x11.XStringToKeysym.restype = ctypes.c_ulong
x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
x11.XKeysymToKeycode.restype = ctypes.c_ubyte
x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x11.XGrabKey.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_int]
x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]

display = x11.XOpenDisplay(None)
if not display:
    sys.exit("cannot open the X display")
keycode = x11.XKeysymToKeycode(display, x11.XStringToKeysym(sys.argv[1].encode()))
GRAB_MODE_ASYNC = 1
x11.XGrabKey(display, keycode, int(sys.argv[2]), x11.XDefaultRootWindow(display), 1, GRAB_MODE_ASYNC, GRAB_MODE_ASYNC)
x11.XSync(display, 0)
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
