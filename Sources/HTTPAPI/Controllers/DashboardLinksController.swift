import Foundation
import Hummingbird
import JSON

/// `POST /api/v1/dashboard/links`: a one-time link that signs its holder in to the dashboard as the
/// key's environment (`kongflow dashboard-link`), so the key itself need not be pasted into a browser.
struct DashboardLinksController {
    let deps: APIDependencies

    struct Body: ResponseEncodable {
        let path: String
        let expiresAt: String
    }

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("dashboard/links") { _, context in
            let environment = try context.requireEnvironment()
            let link = try await deps.tenancy.issueLoginLink(environmentId: environment.id)
            return Body(path: "/login/link?token=\(link.token)", expiresAt: ISODate.format(link.expiresAt))
        }
    }
}
