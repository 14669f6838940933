fn main() {
    // Our commands get generated allow/deny permissions, listed in capabilities/main.json.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_state",
            "search_roles",
            "add_session",
            "remove_session",
            "sign_in",
            "cancel_sign_in",
            "sign_out",
            "refresh_catalog",
            "open_console",
            "copy_env",
            "copy_credential_process",
            "copy_terminal_session",
            "revoke_grant",
            "forget_credentials",
            "toggle_favourite",
            "set_shell",
            "set_autostart",
            "guess_region",
            "hide_window",
            "report_visible",
            "open_sign_in_page",
            "settings_state",
            "save_preferences",
            "set_account",
            "save_chain",
            "remove_chain",
            "edit_session",
            "import_sessions",
            "open_settings",
        ]),
    ))
    .expect("tauri build configuration");
}
