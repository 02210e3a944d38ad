"use strict";
(function () {
  const data = JSON.parse(document.getElementById("cnncalc-data").textContent);
  const rows = data.cost.layers;
  const table = document.getElementById("layers");
  const tbody = table.tBodies[0];
  const heads = Array.from(table.tHead.rows[0].cells);
  const rowByIndex = new Map(Array.from(tbody.rows, tr => [tr.dataset.i, tr]));
  const blocks = data.blocks;
  const views = Array.from(document.querySelectorAll("svg.graph"));
  const nodes = Array.from(document.querySelectorAll(".graph .node.layer"));
  const blockNodes = Array.from(document.querySelectorAll(".graph .node.block"));
  const tip = document.getElementById("tip");
  const fmt = new Intl.NumberFormat("en-US");

  // shading: each node by its share of the largest value of the chosen column (floats are fine for a colour)
  function paint(group, values) {
    const top = values.reduce((a, b) => Math.max(a, b), 0);
    group.forEach((g, k) => {
      const share = top ? values[k] / top : 0;
      g.querySelector(".heat").style.fillOpacity = (0.9 * share).toFixed(3);
      g.classList.toggle("hot", share > 0.55);
    });
    return top;
  }
  let column = null;
  function shade(chosen) {
    column = chosen;
    const valueOf = g => g.dataset.block !== undefined ?
      Number(blocks[Number(g.dataset.block)][column].replace(/,/g, "")) : Number(rows[Number(g.dataset.row)][column]) || 0;
    let shownTop = 0;
    for (const svg of views) {  // each view on its own scale
      const group = Array.from(svg.querySelectorAll(".node.layer, .node.block"));
      const top = paint(group, group.map(valueOf));
      if (!svg.hasAttribute("hidden")) shownTop = top;
    }
    document.getElementById("shade-max").textContent = fmt.format(shownTop);
    for (const td of tbody.querySelectorAll("td.bar")) td.classList.toggle("on", td.dataset.col === column);
    for (const card of document.querySelectorAll(".total")) card.classList.toggle("main", card.dataset.key === column);
  }
  const select = document.getElementById("shade");
  select.addEventListener("change", () => shade(select.value));
  shade(select.value);

  // tooltip: the node's row of the table, as printed there (exact figures)
  const label = th => th.textContent.replace(/[▲▼]/g, "").trim();
  function showTip(g, event) {
    let name, lines;
    if (g.dataset.block !== undefined) {
      const b = blocks[Number(g.dataset.block)];
      name = b.name;
      lines = [["layers", String(b.layers)], ["output", b.output]].concat(
        heads.slice(4).map(th => [label(th), b[th.dataset.col]]));
    } else {
      const tr = rowByIndex.get(g.dataset.row);
      name = tr.cells[1].textContent;
      lines = heads.slice(2).map((th, k) => [label(th), tr.cells[k + 2].textContent]);
    }
    tip.replaceChildren();
    const title = document.createElement("b");
    title.textContent = name;
    const body = document.createElement("table");
    for (const [label, value] of lines) {
      const row = body.insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = value;
    }
    tip.append(title, body);
    tip.hidden = false;
    moveTip(event);
  }
  function moveTip(event) {
    const w = tip.offsetWidth, h = tip.offsetHeight;
    let x = event.clientX + 16, y = event.clientY + 14;
    if (x + w > window.innerWidth - 8) x = event.clientX - w - 16;
    if (y + h > window.innerHeight - 8) y = Math.max(8, window.innerHeight - h - 8);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  for (const g of nodes.concat(blockNodes)) {
    g.addEventListener("mouseenter", e => showTip(g, e));
    g.addEventListener("mousemove", moveTip);
    g.addEventListener("mouseleave", () => { tip.hidden = true; });
    g.addEventListener("click", () => {
      for (const el of document.querySelectorAll(".picked")) el.classList.remove("picked");
      g.classList.add("picked");
      // a layer's node picks its row; a collapsed block's, the rows of every layer in it (nested blocks too)
      const picked = g.dataset.block === undefined ? [rowByIndex.get(g.dataset.row)].filter(Boolean) :
        rows.flatMap((row, i) => row.block !== undefined &&
          row.block.split("/")[0] === blocks[Number(g.dataset.block)].name ? [rowByIndex.get(String(i))] : []);
      for (const tr of picked) tr.classList.add("picked");
      if (picked.length) picked[0].scrollIntoView({block: "center", behavior: "smooth"});
    });
  }

  // zoom: the graphs' drawn size, their coordinates unchanged
  const zoom = document.getElementById("zoom");
  const sizes = views.map(svg => [svg.width.baseVal.value, svg.height.baseVal.value]);
  zoom.addEventListener("input", () => {
    const k = Number(zoom.value) / 100;
    views.forEach((svg, i) => {
      svg.setAttribute("width", (sizes[i][0] * k).toFixed(0));
      svg.setAttribute("height", (sizes[i][1] * k).toFixed(0));
    });
  });

  // view: every layer, or every block instance as one node
  const buttons = Array.from(document.querySelectorAll(".views button"));
  for (const button of buttons) {
    button.addEventListener("click", () => {
      for (const b of buttons) b.setAttribute("aria-pressed", String(b === button));
      for (const svg of views) svg.toggleAttribute("hidden", svg.dataset.view !== button.dataset.view);
      shade(column);
    });
  }

  // sorting: click a heading; numbers by their exact digits (BigInt), text by locale order
  function key(td, kind) {
    if (kind === "num") return BigInt(td.dataset.v);
    return td.textContent;
  }
  for (const [col, th] of heads.entries()) {
    th.addEventListener("click", () => {
      const kind = th.dataset.kind;
      const descending = th.getAttribute("aria-sort") === "ascending" || (kind === "num" && !th.hasAttribute("aria-sort") && col > 0);
      const sign = descending ? -1 : 1;
      const items = Array.from(tbody.rows, tr => [key(tr.cells[col], kind), Number(tr.dataset.i), tr]);
      items.sort((a, b) => {
        const order = kind === "num" ? (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) : a[0].localeCompare(b[0]);
        return order * sign || a[1] - b[1];
      });
      tbody.append(...items.map(item => item[2]));
      for (const other of heads) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    });
  }
})();
