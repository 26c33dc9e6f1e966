// A small live chart of the events per second the page receives, the last minute of it,
// drawn with uPlot. One sample a second.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { el, fill } from "./dom.js";
import { eventsSoFar } from "./rate.js";

const samples = 60;
const height = 120;

export class RateChart {
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];
  private last = eventsSoFar();
  private readonly readout = el("span", { class: "hint", "data-testid": "rate-readout" });
  private readonly box = el("div", { class: "rate-chart", "data-testid": "rate-chart" });
  private readonly plot: uPlot;

  constructor(root: HTMLElement) {
    fill(
      root,
      el("div", { class: "panel-head" }, el("h2", {}, "Events/s"), this.readout),
      this.box,
    );
    this.plot = new uPlot(
      {
        width: Math.max(200, root.clientWidth - 32),
        height,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, max)] } },
        series: [
          {},
          { label: "events/s", stroke: "#2f6fde", fill: "rgba(47,111,222,0.12)", width: 2 },
        ],
        axes: [{ size: 28 }, { size: 48 }],
      },
      [[], []],
      this.box,
    );
    new ResizeObserver(() => {
      this.plot.setSize({ width: Math.max(200, root.clientWidth - 32), height });
    }).observe(root);
    this.sample();
    setInterval(() => this.sample(), 1000);
  }

  private sample(): void {
    const total = eventsSoFar();
    const rate = total - this.last;
    this.last = total;
    this.xs.push(Date.now() / 1000);
    this.ys.push(rate);
    if (this.xs.length > samples) {
      this.xs.shift();
      this.ys.shift();
    }
    this.plot.setData([this.xs, this.ys]);
    this.box.dataset.samples = String(this.xs.length);
    this.box.dataset.total = String(total);
    this.box.dataset.peak = String(Math.max(...this.ys));
    fill(this.readout, `${rate} now · ${total} since the page opened`);
  }
}
