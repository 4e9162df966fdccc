// Draw every perfcost chart on the page with the Vega libraries shipped beside this file.
// Each chart is <div class="perfcost-chart"><script type="application/json">spec</script></div>.
(function () {
  "use strict";
  var options = {renderer: "svg", actions: {export: true, source: false, compiled: false, editor: false}};
  function fail(el, error) {
    el.textContent = "This chart could not be drawn: " + error;
    console.error(error);
  }
  // One chart that cannot be drawn says so in its place and leaves the others to draw.
  function drawOne(el) {
    var holder = el.querySelector("script.perfcost-chart-spec");
    if (!holder) return;
    try {
      window.vegaEmbed(el, JSON.parse(holder.textContent), options).catch(function (error) {
        fail(el, error);
      });
    } catch (error) {
      fail(el, error);
    }
  }
  function draw() {
    document.querySelectorAll("div.perfcost-chart").forEach(drawOne);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
