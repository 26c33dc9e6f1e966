// Every event the page receives (watch events, live key changes) is counted here; the chart
// turns the count into events per second.
let total = 0;

export function countEvent(): void {
  total++;
}

export function eventsSoFar(): number {
  return total;
}
