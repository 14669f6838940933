import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

const asked = new URLSearchParams(window.location.search).get("view");
const view = asked === "picker" || asked === "settings" ? asked : "main";
// When a window made hidden was shown (the start-up log's page milestones).
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") performance.mark("shown");
});
mount(App, { target: document.getElementById("app")!, props: { view } });
