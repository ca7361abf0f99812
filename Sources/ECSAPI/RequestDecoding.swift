import Foundation

/// A request body of type `T` read with `decoder`, for both JSON APIs the server answers
/// (ECS, Application Auto Scaling): malformed JSON or a member of the wrong type is a
/// SerializationException naming the member as the API spells it (`member` turns a Swift
/// property name into that).
func decodeRequest<T: Decodable>(_ type: T.Type, _ body: [UInt8], with decoder: JSONDecoder,
                                 member: (String) -> String = { $0 }) throws -> T {
    do {
        return try decoder.decode(T.self, from: Data(body))
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        let path = context.codingPath.map { member($0.stringValue) }.joined(separator: ".")
        throw ECSError.serialization("\(path.isEmpty ? "the request" : path): \(context.debugDescription)")
    } catch let DecodingError.dataCorrupted(context) {
        throw ECSError.serialization("the request body is not valid JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)")
    } catch {
        throw ECSError.serialization("\(error)")
    }
}
