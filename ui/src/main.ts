import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

const view = new URLSearchParams(window.location.search).get("view") === "picker" ? "picker" : "main";
mount(App, { target: document.getElementById("app")!, props: { view } });
