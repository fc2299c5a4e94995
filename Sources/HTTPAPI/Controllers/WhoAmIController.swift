import Hummingbird

/// `GET /api/v1/whoami`: the key's environment, project and organization.
struct WhoAmIController {
    struct Body: ResponseEncodable {
        struct Env: Encodable { let id: String; let slug: String; let type: String }
        struct Proj: Encodable { let id: String; let slug: String; let name: String }
        struct Org: Encodable { let id: String; let slug: String; let title: String }
        let environment: Env
        let project: Proj
        let organization: Org
    }

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("whoami") { _, context in
            let env = try context.requireEnvironment()
            return Body(
                environment: .init(id: env.id.lowercasedString, slug: env.slug, type: env.type.rawValue),
                project: .init(id: env.project.id.lowercasedString, slug: env.project.slug, name: env.project.name),
                organization: .init(id: env.organization.id.lowercasedString, slug: env.organization.slug, title: env.organization.title))
        }
    }
}
