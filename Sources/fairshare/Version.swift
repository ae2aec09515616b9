/// The release version, as `fairshare --version` prints it. Must equal the top-level VERSION
/// file (`make deb` refuses to build a package when the two differ).
let fairshareVersion = "0.4.0"
