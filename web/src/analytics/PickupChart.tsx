// Time to pickup per bucket (median and p90), drawn by uPlot on a canvas: part of the lazily loaded
// analytics chunk, never of the first load. Buckets without a pickup are gaps, not zeros.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { durationWords } from "../components/time";

export interface PickupPoint {
  /** The bucket's first day at local midnight, Unix seconds. */
  t: number;
  median: number | null;
  p90: number | null;
}

const HEIGHT = 260;

function options(width: number, perDays: number): uPlot.Options {
  // Half a bucket of room on each side: the first and last days' points are not cut by the frame.
  const pad = (perDays * 86400) / 2;
  const seconds = (_u: uPlot, values: number[]) => values.map((v) => (v == null ? "" : durationWords(v)));
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true, range: (_u, min, max) => [min - pad, max + pad] }, y: { range: (_u, _min, max) => [0, Math.max(60, max * 1.1)] } },
    axes: [{}, { values: seconds, size: 70 }],
    series: [
      { label: perDays === 1 ? "Day" : `${perDays} days from` },
      { label: "Median", stroke: "#1f4e8c", width: 2, points: { size: 7 }, value: (_u, v) => (v == null ? "—" : durationWords(v)) },
      { label: "p90", stroke: "#b3261e", width: 1.5, dash: [6, 4], points: { size: 5 }, value: (_u, v) => (v == null ? "—" : durationWords(v)) },
    ],
    cursor: { drag: { x: false, y: false } },
  };
}

export function PickupChart({ points, perDays }: { points: PickupPoint[]; perDays: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const data: uPlot.AlignedData = [points.map((p) => p.t), points.map((p) => p.median), points.map((p) => p.p90)];
    const chart = new uPlot(options(element.clientWidth || 320, perDays), data, element);
    const resize = new ResizeObserver(() => chart.setSize({ width: element.clientWidth || 320, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [points, perDays]);
  return <div ref={box} className="chart" />;
}
