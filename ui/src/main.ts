import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

const asked = new URLSearchParams(window.location.search).get("view");
const view = asked === "picker" || asked === "settings" ? asked : "main";
mount(App, { target: document.getElementById("app")!, props: { view } });
