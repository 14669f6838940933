fn main() {
    rolecall_desktop::run()
}
