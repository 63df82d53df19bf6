pub struct TestApp;
pub async fn spawn_app() {}
