// Draw every perfcost chart on the page with the Vega libraries shipped beside this file.
// Each chart is <div class="perfcost-chart"><script type="application/json">spec</script></div>.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("div.perfcost-chart").forEach(function (el) {
      var holder = el.querySelector("script.perfcost-chart-spec");
      if (!holder) return;
      var spec = JSON.parse(holder.textContent);
      var options = {renderer: "svg", actions: {export: true, source: false, compiled: false, editor: false}};
      window.vegaEmbed(el, spec, options).catch(function (error) {
        el.textContent = "This chart could not be drawn: " + error;
        console.error(error);
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
