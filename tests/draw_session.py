"""A real ``scratchcnn draw`` session, scripted: open the window (Tk), draw a digit with mouse events sent
to the window itself (Tk's event_generate, the same path a real mouse takes through matplotlib's Tk
backend), click a conv pixel, and take a screenshot of the screen.

Run it under a display, a virtual one works:

    Xvfb :99 -screen 0 1700x1000x24 &
    DISPLAY=:99 python tests/draw_session.py --weights runs/mnist/model.weights.npz --screenshot draw.png

tests/test_draw.py runs it to check the real window; docs/figures/draw.png is its screenshot with the
weights of a real training run. It prints what the window saw as key=value lines.
"""
import argparse
import os
from pathlib import Path

import numpy as np


def three(size: int = 280) -> list[list[tuple[float, float]]]:
    """A '3' as two strokes of (row, col) points on the 280x280 canvas: the upper bowl, then the lower."""
    def arc(centre_row, centre_col, radius, start, stop, steps=14):
        angles = np.linspace(np.radians(start), np.radians(stop), steps)
        return [(centre_row - radius * np.sin(a), centre_col + radius * np.cos(a)) for a in angles]

    upper = arc(95, 140, 48, 160, -90)
    lower = arc(185, 140, 52, 90, -160)
    return [upper, lower]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--screenshot", type=Path, required=True)
    args = parser.parse_args()

    import matplotlib.pyplot as plt
    from PIL import ImageGrab

    from scratchcnn.tools import digit_image, draw

    model = draw.load_model(args.weights)
    view = draw.open_window(model, block=False)
    plt.pause(0.5)
    widget = view.fig.canvas.get_tk_widget()

    def tk_xy(ax, row, col):
        x, y = ax.transData.transform((col, row))      # display pixels, from the bottom
        height = view.fig.bbox.height                  # in screen pixels now (Tk may have scaled the dpi)
        return int(round(x)), int(round(height - y))   # Tk counts from the top

    def send(kind, ax, row, col):
        x, y = tk_xy(ax, row, col)
        widget.event_generate(kind, x=x, y=y, warp=False)
        plt.pause(0.01)

    send("<Motion>", view.ax_canvas, 140, 140)         # the pointer enters the window first
    plt.pause(0.5)
    for points in three():
        send("<ButtonPress-1>", view.ax_canvas, *points[0])
        for point in points[1:]:
            send("<Motion>", view.ax_canvas, *point)
        send("<ButtonRelease-1>", view.ax_canvas, *points[-1])
        plt.pause(0.3)
    # click the strongest pixel of conv filter 6's map
    conv_maps = view.outputs[0][0]
    i, j = np.unravel_index(int(np.argmax(conv_maps[:, :, 6])), conv_maps.shape[:2])
    h, w = conv_maps.shape[:2]
    r, q = divmod(6, view.map_columns[0])
    send("<Motion>", view.ax_maps[0], r * (h + 1) + i, q * (w + 1) + j)
    plt.pause(0.6)                                      # (not a double click with the last release)
    send("<ButtonPress-1>", view.ax_maps[0], r * (h + 1) + i, q * (w + 1) + j)
    send("<ButtonRelease-1>", view.ax_maps[0], r * (h + 1) + i, q * (w + 1) + j)
    plt.pause(0.8)

    left, top = widget.winfo_rootx(), widget.winfo_rooty()
    box = (left, top, left + widget.winfo_width(), top + widget.winfo_height())
    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(bbox=box, xdisplay=os.environ["DISPLAY"]).save(args.screenshot)

    expected = model.predict(digit_image.prepare_digit(view.sheet.image())[None])[0]
    print(f"backend={plt.get_backend()}")
    print(f"strokes={len(view.sheet.strokes)}")
    print(f"answer={view.answer}")
    print(f"selected={view.selection and view.selection[1:]}")
    print(f"clicked={(6, int(i), int(j))}")
    print(f"matches_predict={bool(np.allclose(view.probabilities, expected, rtol=1e-5, atol=1e-6))}")
    plt.close(view.fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
